{#-
    Engine-specific SQL of the load audit (models/marts/audit/load_audit.sql)
    and of the end-of-run failure report, behind adapter.dispatch like
    macros/engine/butter_engine.sql. Everything here reads parquet *footers*
    only (file metadata), never the data pages, so auditing a folder costs one
    small read per file whatever the size of the arrays.
-#}


{#- One row per parquet file below a folder, from the file footers:
    file_name, num_rows. Only called for folders that hold parquet files. -#}
{% macro butter_audit_file_footers(folder_path) -%}
    {{ return(adapter.dispatch('butter_audit_file_footers', 'butter')(folder_path)) }}
{%- endmacro %}

{% macro default__butter_audit_file_footers(folder_path) -%}
    {{ butter_not_implemented('butter_audit_file_footers') }}
{%- endmacro %}

{% macro duckdb__butter_audit_file_footers(folder_path) -%}
    select
        file_name,
        num_rows
    from parquet_file_metadata('{{ folder_path }}/**/*.parquet')
{%- endmacro %}


{#- One row per (parquet file, top-level column, parquet physical type of its
    leaf values) below a folder, from the file footers: file_name,
    column_name, physical_type (FLOAT, DOUBLE, INT32, INT64, BYTE_ARRAY,
    BOOLEAN, ...). A list column reports the type of its elements. -#}
{% macro butter_audit_file_columns(folder_path) -%}
    {{ return(adapter.dispatch('butter_audit_file_columns', 'butter')(folder_path)) }}
{%- endmacro %}

{% macro default__butter_audit_file_columns(folder_path) -%}
    {{ butter_not_implemented('butter_audit_file_columns') }}
{%- endmacro %}

{% macro duckdb__butter_audit_file_columns(folder_path) -%}
    select distinct
        file_name,
        split_part(path_in_schema, ', ', 1) as column_name,
        type as physical_type
    from parquet_metadata('{{ folder_path }}/**/*.parquet')
{%- endmacro %}


{#- One row per (parquet file, name in its schema) below a folder, from the
    file footers: file_name, column_name. Every schema element is listed
    (nested ones too, e.g. `list` / `element`), so use it to test whether a
    named column is present, not to enumerate columns. Unlike
    butter_audit_file_columns it also covers files without row groups. -#}
{% macro butter_audit_file_column_names(folder_path) -%}
    {{ return(adapter.dispatch('butter_audit_file_column_names', 'butter')(folder_path)) }}
{%- endmacro %}

{% macro default__butter_audit_file_column_names(folder_path) -%}
    {{ butter_not_implemented('butter_audit_file_column_names') }}
{%- endmacro %}

{% macro duckdb__butter_audit_file_column_names(folder_path) -%}
    select distinct
        file_name,
        name as column_name
    from parquet_schema('{{ folder_path }}/**/*.parquet')
{%- endmacro %}


{#- The parquet physical type a contract column is stored with (arrays: the
    type of their elements): what the published files use, so a file that
    stores another type was re-exported with other types (e.g. float64 arrays)
    and is cast on read. Parquet, not engine, knowledge: no dispatch. -#}
{% macro butter_audit_physical_type(sql_type) -%}
    {%- set base = sql_type | replace('[]', '') -%}
    {%- set physical = {
        'float': 'FLOAT', 'double': 'DOUBLE', 'varchar': 'BYTE_ARRAY', 'boolean': 'BOOLEAN',
        'utinyint': 'INT32', 'usmallint': 'INT32', 'uinteger': 'INT32', 'tinyint': 'INT32',
        'smallint': 'INT32', 'integer': 'INT32', 'ubigint': 'INT64', 'bigint': 'INT64',
        'timestamp with time zone': 'INT64',
    } -%}
    {{ return(physical.get(base)) }}
{%- endmacro %}


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


{#-
    The folder loops of models/marts/audit/load_audit.sql: plain SQL around the
    engine macros above, one branch per published folder, kept here so that
    the model reads as one static query.
-#}

{#- The 16 published folders with what each holds (compile time): a list of
    {name, kind, path, parquet_files, other_files}. -#}
{% macro butter_audit_folders() -%}
    {%- set folders = [] -%}
    {%- for kind in ['runs', 'summary'] -%}
        {%- for folder in butter_folders(kind) -%}
            {%- set path = butter_folder_path(folder) -%}
            {%- set state = butter_folder_state(path) if execute
                else {'parquet_files': 1, 'other_files': 0} -%}
            {%- do folders.append({
                'name': folder, 'kind': kind, 'path': path,
                'parquet_files': state.parquet_files, 'other_files': state.other_files,
            }) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(folders) }}
{%- endmacro %}


{#- One row per folder: source_folder, folder_kind, folder_path,
    parquet_files_found, other_files_found. -#}
{% macro butter_audit_folders_sql(folders) -%}
    {%- for folder in folders %}
    select
        '{{ folder.name }}' as source_folder,
        '{{ folder.kind }}' as folder_kind,
        '{{ folder.path }}' as folder_path,
        {{ folder.parquet_files }} as parquet_files_found,
        {{ folder.other_files }} as other_files_found
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{#- A footer macro (butter_audit_file_footers / _file_columns /
    _file_column_names, passed as the macro itself) over every folder that holds parquet files, with a
    source_folder column; `columns` are the macro's output columns and types
    (the typed empty branch keeps the union valid when no folder has files). -#}
{% macro butter_audit_footers_union(folders, footer_macro, columns) -%}
    {%- for folder in folders if folder.parquet_files > 0 %}
    select
        '{{ folder.name }}' as source_folder,
        {%- for name in columns %}
        footer.{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from ({{ footer_macro(folder.path) }}) as footer
    union all
    {%- endfor %}
    select
        cast(null as varchar) as source_folder,
        {%- for name, type in columns.items() %}
        cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    where false
{%- endmacro %}


{#- The contract as rows: every spelling of every column a file may hold,
    with its canonical name, the parquet type the published files store it
    with (NULL: not checked, e.g. partition columns) and whether every file
    must have it. -#}
{% macro butter_audit_expected_columns() -%}
    {%- set rows = [] -%}
    {%- for kind in ['runs', 'summary'] -%}
        {%- for col in butter_columns(kind) -%}
            {%- set physical = butter_audit_physical_type(col.sql_type) -%}
            {%- for spelling in [col.published, col.framework] | reject('none') | unique -%}
                {%- do rows.append("('" ~ kind ~ "', '" ~ spelling ~ "', '" ~ col.name ~ "', "
                    ~ ("'" ~ physical ~ "'" if physical and not col.partition else 'null') ~ ", "
                    ~ ((col.required and not col.partition) | lower) ~ ")") -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor %}
    select
        contract_columns.folder_kind,
        contract_columns.column_name,
        contract_columns.canonical_name,
        contract_columns.physical_type,
        contract_columns.is_required_in_file
    from (values
        {{ rows | join(',\n        ') }}
    ) as contract_columns (folder_kind, column_name, canonical_name, physical_type, is_required_in_file)
{%- endmacro %}


{#- Per folder with files: rows whose partition value is NULL in a partition
    column BUTTER never leaves NULL (all but kernel_regularizer_type), with a
    note naming the columns and a file. -#}
{% macro butter_audit_null_partitions(folders) -%}
    {%- for folder in folders if folder.parquet_files > 0 %}
        {%- set checked = [] -%}
        {%- for col in butter_columns(folder.kind)
            if col.partition and col.name != 'kernel_regularizer_type' -%}
            {%- do checked.append(col.name) -%}
        {%- endfor %}
    select
        '{{ folder.name }}' as source_folder,
        count(*) as rows_null_partition,
        'rows with a NULL partition value (__HIVE_DEFAULT_PARTITION__) in '
        || string_agg(distinct concat_ws(', '
            {%- for name in checked %},
            case when {{ name }} is null then '{{ name }}' end
            {%- endfor %}
        ), ' / ') || ': ' || count(*) || ', e.g. ' || min(source_file) as partition_note
    from {{ ref('stg_butter__' ~ folder.name) }}
    where
        {%- for name in checked %}
        {{ name }} is null{{ ' or' if not loop.last }}
        {%- endfor %}
    union all
    {%- endfor %}
    select
        cast(null as varchar) as source_folder,
        cast(null as bigint) as rows_null_partition,
        cast(null as varchar) as partition_note
    where false
{%- endmacro %}
