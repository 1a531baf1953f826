{#- Engine SQL (macros/engine/types.sql says how it is laid out): reading the
    published folders. DuckDB reads them in place (sources.yml
    meta.external_location); Spark reads them through tables registered over
    the folders (butter_register_sources). -#}


{#- The relation staging reads a published folder from, with a `filename`
    column (the file each row was read from, `<data root>/<folder>/<path in
    the folder>`). DuckDB's read_parquet adds it (filename = true); Spark
    reads it off the hidden _metadata column, which does not pass through
    `select *`, so the table is wrapped once here.
    Every file the inventory found to be parquet is read, every column where
    a file has it: on DuckDB, the source (a `**/*.parquet` glob, read with the
    first file's columns) is used as is when every file of the folder has
    the glob's name pattern and the same columns. Otherwise the glob's files
    and the parquet files with other names (`part-1.PARQUET`, `000001_0`,
    listed by name from the inventory) are read separately and unioned by
    name, each read with union_by_name only when its files store different
    columns (union_by_name opens every footer at each bind: ~0.25 ms a local
    file, one request a file on S3, so it is paid only where needed). Spark
    reads every file of the folder but hidden ones (`_*`, `.*`) whatever its
    name, with the union of the files' columns (butter_spark_source_ddl). -#}
{% macro butter_source_relation(relation, folder) -%}
    {{ return(adapter.dispatch('butter_source_relation', 'butter')(relation, folder)) }}
{%- endmacro %}

{% macro default__butter_source_relation(relation, folder) -%}
    {%- set file_path = "regexp_extract(_metadata.file_path, " ~ butter_sql_string('/' ~ folder ~ '/(.*)$') ~ ", 1)" -%}
    {{ return('(select *, concat(' ~ butter_sql_string(butter_folder_path(folder) ~ '/') ~ ', '
        ~ file_path ~ ') as filename from ' ~ relation ~ ')') }}
{%- endmacro %}

{% macro duckdb__butter_source_relation(relation, folder) -%}
    {%- if not execute -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- set files = butter_inventory('files') ~ ' where folder = ' ~ butter_sql_string(folder) -%}
    {%- set groups = run_query(
        "select ends_with(path, '.parquet') as is_globbed, count(distinct list_sort(column_names)) as column_sets "
        ~ 'from ' ~ files ~ ' group by all order by is_globbed desc') -%}
    {%- if groups.rows | length == 1 and groups.rows[0][0] and groups.rows[0][1] == 1 -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- set reads = [] -%}
    {%- for group in groups.rows -%}
        {%- if group[0] -%}
            {%- set paths = butter_sql_string(butter_folder_path(folder) ~ '/**/*.parquet') -%}
        {%- else -%}
            {%- set listed = run_query(
                'select path from ' ~ files ~ " and not ends_with(path, '.parquet') order by path") -%}
            {%- set quoted = [] -%}
            {%- for path in listed.columns[0].values() -%}
                {%- do quoted.append(butter_sql_string(path)) -%}
            {%- endfor -%}
            {%- set paths = '[' ~ quoted | join(', ') ~ ']' -%}
        {%- endif -%}
        {%- do reads.append('select * from read_parquet(' ~ paths ~ ', ' ~ butter_read_options()
            ~ (', union_by_name = true' if group[1] > 1 else '') ~ ')') -%}
    {%- endfor -%}
    {{- return('(' ~ reads | join(' union all by name ') ~ ')') -}}
{%- endmacro %}


{#- A hive partition value as read, with the text NULL (any case) as NULL:
    DuckDB's hive reader already reads it so (like __HIVE_DEFAULT_PARTITION__),
    Spark keeps it as text, so both engines read the same. The scan counts
    these rows as NULL partitions and reports the spelling. -#}
{% macro butter_partition_value(expr) -%}
    {{ return(adapter.dispatch('butter_partition_value', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_partition_value(expr) -%}
    {{ return('case when upper(cast(' ~ expr ~ ' as string)) = ' ~ "'NULL'" ~ ' then null else ' ~ expr ~ ' end') }}
{%- endmacro %}

{% macro duckdb__butter_partition_value(expr) -%}
    {{ return(expr) }}
{%- endmacro %}


{#-
    Sources as tables a cluster can prune (dbt-external-tables is not on
    PyPI): `butter_register_sources` (run by `butter build --target spark`
    at the start of its dbt build, see butter_register_sources_on_run_start;
    plain dbt: `dbt run-operation butter_register_sources`) registers every published folder that
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

{#- The project's on-run-start hook (dbt_project.yml): registers the sources
    at the start of the dbt command when BUTTER_REGISTER_SOURCES is 1, which
    `butter build --target spark` / `spark_cluster` sets, so one dbt command
    registers and builds (a separate run-operation would cost a second JVM
    start and parse). Unset (plain dbt, the DuckDB build), it does nothing.
    Returns no SQL. -#}
{% macro butter_register_sources_on_run_start() -%}
    {%- if execute and env_var('BUTTER_REGISTER_SOURCES', '') == '1' -%}
        {%- do butter_register_sources() -%}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}

{% macro duckdb__butter_register_sources() -%}
    {{ log("BUTTER: DuckDB reads the published folders in place (sources.yml external_location); "
        ~ "no tables to register.", info=true) }}
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
