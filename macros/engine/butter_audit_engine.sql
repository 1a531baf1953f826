{#-
    Engine-specific SQL of the audit: how an engine's error message is turned
    into advice naming the file or column (used by the on-run-end failure
    report, macros/audit/butter_failure_report.sql), behind adapter.dispatch
    like macros/engine/butter_engine.sql. The file inventory the load audit
    reads is dispatched in macros/staging/butter_inventory.sql.
-#}


{#- Advice for an engine error message, naming the file / column it names;
    '' when the message is not recognised. -#}
{% macro butter_failure_advice(message) -%}
    {{ return(adapter.dispatch('butter_failure_advice', 'butter')(message)) }}
{%- endmacro %}

{% macro default__butter_failure_advice(message) -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__butter_failure_advice(message) -%}
    {%- set re = modules.re -%}
    {%- set unreadable = re.search("(?:No magic bytes found at end of file|File too small to be a Parquet file|Invalid Parquet file|Corrupt parquet file)[: ]*'?([^'\n]+)'?", message) -%}
    {%- set lacks = re.search('column "([^"]+)" was read from the original file "([^"]+)", but could not be found in file "([^"]+)"', message) -%}
    {%- set unreachable = re.search("(Could not establish connection|Connection timed out|Timeout was reached|timed out|Connection refused|Failed to connect)", message) -%}
    {%- if unreadable -%}
        {{ return("'" ~ unreadable.group(1) ~ "' is not a readable parquet file (corrupt or truncated: "
            ~ "no parquet footer). Download that file again, or move it out of the data root to build "
            ~ "without it; `butter build` keeps the previously published warehouse.") }}
    {%- elif lacks -%}
        {{ return("file '" ~ lacks.group(3) ~ "' has no column '" ~ lacks.group(1) ~ "' although '"
            ~ lacks.group(2) ~ "' of the same folder has it: the folder mixes exports of different "
            ~ "schemas or spellings. Download that file again or keep one export per folder; "
            ~ "`butter build` keeps the previously published warehouse.") }}
    {%- elif unreachable -%}
        {{ return("the data root '" ~ butter_data_root() ~ "' could not be read ("
            ~ unreachable.group(1) ~ "). Check BUTTER_DATA_ROOT, BUTTER_S3_ENDPOINT and the network; "
            ~ "BUTTER_HTTP_TIMEOUT / BUTTER_HTTP_RETRIES bound how long each request waits. "
            ~ "`butter build` keeps the previously published warehouse.") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
