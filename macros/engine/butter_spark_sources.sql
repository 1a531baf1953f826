{#-
    Sources as tables a cluster can prune (dbt-external-tables is not on
    PyPI): `dbt run-operation butter_register_sources` (run by `butter build
    --target spark` before dbt build) registers every published folder that
    holds parquet files as an external parquet table `butter.<folder>`
    (the sources' schema) over the folder, partitioned by the folder's hive
    keys in path order, and loads its partitions into the metastore (MSCK
    REPAIR), so a filter on dataset, learning_rate, ... reads only the
    matching folders. Column types come from the files; partition values stay
    text (spark.sql.sources.partitionColumnTypeInference.enabled=false in the
    profile) and staging casts them, as on DuckDB. The files and partitions
    are taken from the inventory (butter scan), not listed by Spark SQL.
    DuckDB reads the folders in place (meta.external_location): nothing to do.
-#}
{% macro butter_register_sources() -%}
    {{ return(adapter.dispatch('butter_register_sources', 'butter')()) }}
{%- endmacro %}

{% macro default__butter_register_sources() -%}
    {{ return(spark__butter_register_sources()) }}
{%- endmacro %}

{% macro duckdb__butter_register_sources() -%}
    {{ log("BUTTER: DuckDB reads the published folders in place (sources.yml external_location); "
        ~ "no tables to register.", info=true) }}
{%- endmacro %}

{% macro spark__butter_register_sources() -%}
    {%- set schema = source('butter', 'all_runs').schema -%}
    {%- do run_query('create database if not exists ' ~ adapter.quote(schema)) -%}
    {%- for kind in ['runs', 'summary'] -%}
        {%- for folder in butter_folders(kind) -%}
            {%- set table = adapter.quote(schema) ~ '.' ~ adapter.quote(folder) -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {#- one file per distinct set of columns: the table has the union of them -#}
            {%- set examples = run_query('select min(path) as path from ' ~ butter_inventory('files')
                ~ ' where folder = ' ~ butter_sql_string(folder)
                ~ " group by array_join(array_sort(column_names), ',') order by path").columns[0].values() | list -%}
            {%- if not examples -%}
                {{ log("BUTTER: '" ~ butter_folder_path(folder) ~ "/' has no parquet files: source "
                    ~ folder ~ " not registered (stg_butter__" ~ folder ~ " is empty).", info=true) }}
            {%- else -%}
                {{ log("BUTTER: registering " ~ table ~ " over '" ~ butter_folder_path(folder) ~ "/'", info=true) }}
                {%- do run_query(butter_spark_source_ddl(folder, examples, table)) -%}
                {%- do run_query('msck repair table ' ~ table) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{%- endmacro %}


{#- The data root as Spark's Hadoop file system names it: s3:// is s3a://. -#}
{% macro butter_spark_path(path) -%}
    {{- return('s3a://' ~ path[5:] if path.startswith('s3://') else path) -}}
{%- endmacro %}


{#- CREATE TABLE for one folder: the file columns (as Spark reads the files;
    the union of the columns of `example_files`, one file per distinct column
    set, so a column some files lack is read where present and NULL elsewhere)
    then the partition keys of the first example's path, in path order, as
    text (a partition column also stored in a file is read from the path, as
    on DuckDB). Files that are not parquet are skipped (ignoreCorruptFiles). -#}
{% macro butter_spark_source_ddl(folder, example_files, table) -%}
    {%- set folder_path = butter_folder_path(folder) -%}
    {%- set relative = example_files[0][folder_path | length + 1:] -%}
    {%- set keys = [] -%}
    {%- for part in relative.split('/')[:-1] if '=' in part -%}
        {%- do keys.append(part.split('=')[0]) -%}
    {%- endfor -%}
    {%- set columns = [] -%}
    {%- set seen = [] -%}
    {%- for example_file in example_files -%}
        {%- set described = run_query('describe query select * from parquet.'
            ~ adapter.quote(butter_spark_path(example_file))) -%}
        {%- for row in described.rows if row[0] and not row[0].startswith('#') and row[0] not in keys
            and row[0] not in seen -%}
            {%- do seen.append(row[0]) -%}
            {%- do columns.append(adapter.quote(row[0]) ~ ' ' ~ row[1]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for key in keys -%}
        {%- do columns.append(adapter.quote(key) ~ ' string') -%}
    {%- endfor -%}
    create table {{ table }} (
        {{ columns | join(',\n        ') }}
    )
    using parquet
    {# files that are not parquet (a README in a partition folder: "other files" in the
        inventory) are skipped instead of failing every read; every parquet data file's
        footer was read by the scan, and load_audit's counts (from the footers) fail the
        build if Spark skipped a data file #}
    options ('ignoreCorruptFiles' = 'true')
    {%- if keys %}
    partitioned by ({% for key in keys %}{{ adapter.quote(key) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endif %}
    location {{ butter_sql_string(butter_spark_path(folder_path)) }}
{%- endmacro %}
