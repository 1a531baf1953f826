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
