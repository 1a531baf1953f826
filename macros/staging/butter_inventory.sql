{#- The file inventory (butter_warehouse/inventory/): every file under each
    published folder, listed independently of the SQL reader and with each
    parquet footer read once. `butter build` scans first and passes the
    inventory folder in env BUTTER_INVENTORY; plain dbt runs get it from the
    DuckDB function butter_scan(root) that the project's dbt-duckdb plugin
    registers (one scan per dbt process). -#}


{#- The folder holding the inventory's parquet files (compile time). -#}
{% macro butter_inventory_dir() -%}
    {%- set given = env_var('BUTTER_INVENTORY', '') -%}
    {%- if given -%}
        {{- return(given) -}}
    {%- endif -%}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {{- return(butter_scan_inventory()) -}}
{%- endmacro %}


{#- Scan the data root from inside dbt (plain dbt runs without BUTTER_INVENTORY):
    the folder the inventory was written to. -#}
{% macro butter_scan_inventory() -%}
    {{- return(adapter.dispatch('butter_scan_inventory', 'butter')()) -}}
{%- endmacro %}

{% macro default__butter_scan_inventory() -%}
    {{- exceptions.raise_compiler_error(
        "BUTTER: on " ~ adapter.type() ~ " dbt cannot scan the data root itself: run `butter build --target "
        ~ target.name ~ "`, or `butter scan --out DIR` and set BUTTER_INVENTORY=DIR before dbt.") -}}
{%- endmacro %}

{% macro duckdb__butter_scan_inventory() -%}
    {%- set scanned = run_query('select butter_scan(' ~ butter_sql_string(butter_data_root()) ~ ')') -%}
    {{- return(scanned.rows[0][0]) -}}
{%- endmacro %}


{#- One inventory table as a table expression: `files`, `folders` or `problems`. -#}
{% macro butter_inventory(table) -%}
    {{- return(adapter.dispatch('butter_inventory', 'butter')(table)) -}}
{%- endmacro %}

{% macro default__butter_inventory(table) -%}
    parquet.{{ adapter.quote(butter_inventory_dir() ~ '/' ~ table ~ '.parquet') }}
{%- endmacro %}

{% macro duckdb__butter_inventory(table) -%}
    read_parquet({{ butter_sql_string(butter_inventory_dir() ~ '/' ~ table ~ '.parquet') }})
{%- endmacro %}


{#- What a published folder holds, from the inventory (compile time): a dict
    with parquet_files, other_files, num_rows and errors (the scan's error
    messages for that folder and for the whole data root). -#}
{% macro butter_inventory_folder(folder) -%}
    {%- if not execute -%}
        {{- return({'parquet_files': 1, 'other_files': 0, 'num_rows': 0, 'errors': []}) -}}
    {%- endif -%}
    {%- set state = run_query(
        'select parquet_files, other_files, num_rows from ' ~ butter_inventory('folders')
        ~ ' where folder = ' ~ butter_sql_string(folder)).rows[0] -%}
    {%- set errors = run_query(
        'select problem from ' ~ butter_inventory('problems') ~ " where severity = 'error' and (folder = "
        ~ butter_sql_string(folder) ~ ' or folder is null) order by folder nulls first, path, problem') -%}
    {{- return({
        'parquet_files': state[0] | int, 'other_files': state[1] | int, 'num_rows': state[2] | int,
        'errors': errors.columns[0].values() | list,
    }) -}}
{%- endmacro %}
