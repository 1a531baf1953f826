{#-
    Engine-specific SQL lives here, behind adapter.dispatch, so the models
    run unchanged on every engine the project supports: DuckDB (`duckdb__`,
    here) and Spark (`spark__`, in butter_engine_spark.sql; dbt-databricks
    uses them too). A `default__` is the Spark SQL one, the closest to ANSI,
    so no engine macro raises at parse time.
-#}

{% macro butter_not_implemented(name) -%}
    {{ exceptions.raise_compiler_error(
        "butter: macro '" ~ name ~ "' has no implementation for adapter '"
        ~ adapter.type() ~ "'. Add " ~ adapter.type() ~ "__" ~ name
        ~ " in macros/engine/.") }}
{%- endmacro %}


{#- What a folder holds, decided at compile time: a dict with
    `parquet_files` (data files below it) and `other_files` (anything else,
    e.g. a lone `_common_metadata`). Both 0 when the folder is absent. One
    listing serves staging (skip absent sweeps), the reconciliation and the
    load audit (tell an absent folder from one without data files). -#}
{% macro butter_folder_state(folder_path) -%}
    {{ return(adapter.dispatch('butter_folder_state', 'butter')(folder_path)) }}
{%- endmacro %}

{% macro default__butter_folder_state(folder_path) -%}
    {{ return(spark__butter_folder_state(folder_path)) }}
{%- endmacro %}

{% macro duckdb__butter_folder_state(folder_path) -%}
    {%- set sql -%}
        select
            count(*) filter (where file like '%.parquet') as parquet_files,
            count(*) filter (where file not like '%.parquet') as other_files
        from glob('{{ folder_path }}/**/*')
    {%- endset -%}
    {%- set row = run_query(sql).rows[0] -%}
    {{ return({'parquet_files': row[0] | int, 'other_files': row[1] | int}) }}
{%- endmacro %}


{#- Number of parquet files below a folder (0 when it is absent). -#}
{% macro butter_count_files(folder_path) -%}
    {{ return(butter_folder_state(folder_path).parquet_files) }}
{%- endmacro %}


{#- Column names and types of a relation or table expression, as a list of
    {'name': ..., 'type': ...} dicts. -#}
{% macro butter_describe(relation_sql) -%}
    {{ return(adapter.dispatch('butter_describe', 'butter')(relation_sql)) }}
{%- endmacro %}

{% macro default__butter_describe(relation_sql) -%}
    {{ return(spark__butter_describe(relation_sql)) }}
{%- endmacro %}

{% macro duckdb__butter_describe(relation_sql) -%}
    {%- set result = run_query('describe select * from ' ~ relation_sql) -%}
    {%- set described = [] -%}
    {%- for row in result.rows -%}
        {%- do described.append({'name': row[0], 'type': row[1] | lower}) -%}
    {%- endfor -%}
    {{ return(described) }}
{%- endmacro %}


{#- Length of an array expression (NULL for a NULL array). -#}
{% macro butter_array_length(expr) -%}
    {{ return(adapter.dispatch('butter_array_length', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_array_length(expr) -%}
    {{ return(spark__butter_array_length(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_array_length(expr) -%}
    len({{ expr }})
{%- endmacro %}



{#- Unix seconds to a timestamp with time zone. -#}
{% macro butter_from_unix_seconds(expr) -%}
    {{ return(adapter.dispatch('butter_from_unix_seconds', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_from_unix_seconds(expr) -%}
    {{ return(spark__butter_from_unix_seconds(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_from_unix_seconds(expr) -%}
    to_timestamp({{ expr }})
{%- endmacro %}


{#- The finite elements of a float array, in order (NaN and +/-inf removed). -#}
{% macro butter_list_finite(expr) -%}
    {{ return(adapter.dispatch('butter_list_finite', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_finite(expr) -%}
    {{ return(spark__butter_list_finite(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_finite(expr) -%}
    list_filter({{ expr }}, lambda x: isfinite(x))
{%- endmacro %}



{#- Smallest / largest element of an array (NULL for an empty or NULL array). -#}
{% macro butter_list_min(expr) -%}
    {{ return(adapter.dispatch('butter_list_min', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_min(expr) -%}
    {{ return(spark__butter_list_min(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_min(expr) -%}
    list_min({{ expr }})
{%- endmacro %}

{% macro butter_list_max(expr) -%}
    {{ return(adapter.dispatch('butter_list_max', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_max(expr) -%}
    {{ return(spark__butter_list_max(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_max(expr) -%}
    list_max({{ expr }})
{%- endmacro %}


{#- 1-based position of the first element equal to a value; NULL when the
    value is NULL or absent (DuckDB's list_position would find a NULL element,
    Spark's array_position returns 0). -#}
{% macro butter_list_position(list_expr, value_expr) -%}
    {{ return(adapter.dispatch('butter_list_position', 'butter')(list_expr, value_expr)) }}
{%- endmacro %}

{% macro default__butter_list_position(list_expr, value_expr) -%}
    {{ return(spark__butter_list_position(list_expr, value_expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_position(list_expr, value_expr) -%}
    case
        when {{ value_expr }} is not null
            then nullif(list_position({{ list_expr }}, {{ value_expr }}), 0)
    end
{%- endmacro %}



{#- The element at a 1-based position (NULL when out of range). -#}
{% macro butter_list_element(list_expr, position_expr) -%}
    {{ return(adapter.dispatch('butter_list_element', 'butter')(list_expr, position_expr)) }}
{%- endmacro %}

{% macro default__butter_list_element(list_expr, position_expr) -%}
    {{ return(spark__butter_list_element(list_expr, position_expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_element(list_expr, position_expr) -%}
    list_extract({{ list_expr }}, {{ position_expr }})
{%- endmacro %}


{#- A float if it is finite, else NULL. -#}
{% macro butter_finite_or_null(expr) -%}
    {{ return(adapter.dispatch('butter_finite_or_null', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_finite_or_null(expr) -%}
    {{ return(spark__butter_finite_or_null(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_finite_or_null(expr) -%}
    case when isfinite({{ expr }}) then {{ expr }} end
{%- endmacro %}



{#- Continuous (linearly interpolated, numpy's default) quantile aggregate. -#}
{% macro butter_quantile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('butter_quantile_cont', 'butter')(expr, fraction)) }}
{%- endmacro %}

{% macro default__butter_quantile_cont(expr, fraction) -%}
    {{ return(spark__butter_quantile_cont(expr, fraction)) }}
{%- endmacro %}

{% macro duckdb__butter_quantile_cont(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}



{#- One row per (row of `relation_sql`, epoch): the 1-based epoch and one
    column per array, zipped; rows run to the longest array, shorter ones are
    padded with NULL, empty/NULL arrays give no rows. -#}
{% macro butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    {{ return(adapter.dispatch('butter_unnest_epochs', 'butter')(relation_sql, key_columns, arrays)) }}
{%- endmacro %}

{% macro default__butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    {{ return(spark__butter_unnest_epochs(relation_sql, key_columns, arrays)) }}
{%- endmacro %}

{% macro duckdb__butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    select
        {%- for key in key_columns %}
        sized.{{ key }},
        {%- endfor %}
        cast(unnest(generate_series(1, sized.num_positions)) as integer) as epoch
        {%- for array in arrays %},
        unnest(sized.{{ array }}) as {{ array }}
        {%- endfor %}
    from (
        select
            *,
            greatest(
                {%- for array in arrays %}
                coalesce(len({{ array }}), 0){{ ',' if not loop.last }}
                {%- endfor %}
            ) as num_positions
        from {{ relation_sql }}
    ) as sized
{%- endmacro %}


{#- A text fingerprint of several columns, NULL-safe, for "do two copies
    agree": md5 of the columns' texts (butter_value_text, the same on every
    engine, so fingerprints are too). -#}
{% macro butter_fingerprint(columns) -%}
    {%- set types = {} -%}
    {%- for kind in ['runs', 'summary'] -%}
        {%- for col in butter_columns(kind) -%}
            {%- do types.update({col.name: col.sql_type}) -%}
        {%- endfor -%}
    {%- endfor -%}
    md5(concat_ws('|'
        {%- for column in columns %},
        coalesce({{ butter_value_text(column, types.get(column)) }}, '<null>')
        {%- endfor %}
    ))
{%- endmacro %}


{#- A scalar value as text, identical on every engine: numbers as
    butter_number_text, timestamps as epoch microseconds, the rest cast to
    text. `sql_type` (the contract type, when known) lets DuckDB tell a
    timestamp; Spark reads the type off the value. -#}
{% macro butter_value_text(expr, sql_type=none) -%}
    {{ return(adapter.dispatch('butter_value_text', 'butter')(expr, sql_type)) }}
{%- endmacro %}

{% macro default__butter_value_text(expr, sql_type=none) -%}
    {{ return(spark__butter_value_text(expr, sql_type)) }}
{%- endmacro %}

{% macro duckdb__butter_value_text(expr, sql_type=none) -%}
    {%- if sql_type is not none and sql_type.startswith('timestamp') -%}
        cast(epoch_us({{ expr }}) as varchar)
    {%- else -%}
        cast({{ expr }} as varchar)
    {%- endif -%}
{%- endmacro %}


{#- A number as text, identical on every engine: DuckDB's (= Python's repr:
    shortest round-trip decimal, `0.0001`, `1e-05`, `3.0`, `nan`, `inf`).
    Used wherever a number becomes text that is compared or shown
    (swept_value, fingerprints). -#}
{% macro butter_number_text(expr) -%}
    {{ return(adapter.dispatch('butter_number_text', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_number_text(expr) -%}
    {{ return(spark__butter_number_text(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_number_text(expr) -%}
    cast({{ expr }} as varchar)
{%- endmacro %}


{#- The one type map: a contract / DuckDB type name (`varchar`,
    `uinteger`, `float[]`, `timestamp with time zone`, ...) as the engine
    spells it. DuckDB: unchanged; Spark: string, signed integers wide enough
    for the unsigned values, array<...>, timestamp. -#}
{% macro butter_type(sql_type) -%}
    {{ return(adapter.dispatch('butter_type', 'butter')(sql_type)) }}
{%- endmacro %}

{% macro default__butter_type(sql_type) -%}
    {{ return(spark__butter_type(sql_type)) }}
{%- endmacro %}

{% macro duckdb__butter_type(sql_type) -%}
    {{ return(sql_type) }}
{%- endmacro %}


{#- string_agg with an order (DuckDB: `order by` inside the call; Spark:
    WITHIN GROUP). -#}
{% macro butter_string_agg(expr, separator, order_by) -%}
    {{ return(adapter.dispatch('butter_string_agg', 'butter')(expr, separator, order_by)) }}
{%- endmacro %}

{% macro default__butter_string_agg(expr, separator, order_by) -%}
    {{ return(spark__butter_string_agg(expr, separator, order_by)) }}
{%- endmacro %}

{% macro duckdb__butter_string_agg(expr, separator, order_by) -%}
    string_agg({{ expr }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}


{#- The file a staged row of a published folder was read from, as
    `<data root>/<folder>/<path in the folder>` on every engine. -#}
{% macro butter_source_file(folder) -%}
    {{ return(adapter.dispatch('butter_source_file', 'butter')(folder)) }}
{%- endmacro %}

{% macro default__butter_source_file(folder) -%}
    {{ return(spark__butter_source_file(folder)) }}
{%- endmacro %}

{% macro duckdb__butter_source_file(folder) -%}
    filename
{%- endmacro %}


{#- Any one value of a group (all values are equal where it is used). -#}
{% macro butter_any_value(expr) -%}
    {{ return(adapter.dispatch('butter_any_value', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_any_value(expr) -%}
    {{ return(spark__butter_any_value(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_any_value(expr) -%}
    any_value({{ expr }})
{%- endmacro %}


{#- A float array literal from its DuckDB text (`'[0.5, nan, inf, -inf]'`,
    `'[]'`), for unit-test fixtures that run on every engine. -#}
{% macro butter_float_list(text) -%}
    {{ return(adapter.dispatch('butter_float_list', 'butter')(text)) }}
{%- endmacro %}

{% macro default__butter_float_list(text) -%}
    {{ return(spark__butter_float_list(text)) }}
{%- endmacro %}

{% macro duckdb__butter_float_list(text) -%}
    cast('{{ text }}' as float[])
{%- endmacro %}
