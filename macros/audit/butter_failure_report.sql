{#-
    on-run-end hook: after any dbt command, one `BUTTER:` line per failed node
    saying what went wrong in terms of the data (which file, which column)
    and what to do, instead of leaving the reader with the engine's text.
    dbt_project.yml: on-run-end: ["{{ butter_report_failures(results) }}"]
    Returns no SQL (the hook only logs).
-#}
{% macro butter_report_failures(results) -%}
    {%- if execute -%}
        {%- for result in results if result.status in ('error', 'fail') -%}
            {%- set node = result.node -%}
            {%- set advice = butter_failure_advice(result.message or '') -%}
            {%- if not advice and node.resource_type == 'test' and result.status == 'fail' -%}
                {%- set advice = result.failures ~ " offending row(s), e.g. "
                    ~ butter_failing_rows_sample(node.compiled_code)
                    ~ ". Fix the data these rows come from or exclude it; `dbt test --select "
                    ~ node.name ~ " --store-failures` keeps them all in a table." -%}
            {%- endif -%}
            {%- if advice -%}
                {{- log("BUTTER: " ~ node.resource_type ~ " " ~ node.name ~ " failed: " ~ advice, info=true) -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}


{#- The first rows a failed data test returns, as `column=value` text
    (each row cut at max_chars). -#}
{% macro butter_failing_rows_sample(test_sql, limit=3, max_chars=700) -%}
    {%- if not test_sql -%}
        {{ return('(rows not available)') }}
    {%- endif -%}
    {%- set sample = run_query('select * from (' ~ test_sql ~ ') as failing limit ' ~ limit) -%}
    {%- set rows = [] -%}
    {%- for row in sample.rows -%}
        {%- set pairs = [] -%}
        {%- for name in sample.column_names -%}
            {%- do pairs.append(name ~ '=' ~ row[loop.index0]) -%}
        {%- endfor -%}
        {%- set text = pairs | join(', ') -%}
        {%- do rows.append('[' ~ (text[:max_chars] ~ '...' if text | length > max_chars else text) ~ ']') -%}
    {%- endfor -%}
    {{ return(rows | join(' ')) }}
{%- endmacro %}


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
