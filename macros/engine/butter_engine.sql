{#-
    Engine-specific SQL lives here, behind adapter.dispatch, so the models can
    move to another engine (Spark, Trino, Athena) by adding implementations
    instead of editing models. DuckDB is the implemented engine; the
    `default__` versions raise a clear error naming what must be written.
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
    {{ butter_not_implemented('butter_folder_state') }}
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
    {{ butter_not_implemented('butter_describe') }}
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
    cardinality({{ expr }})
{%- endmacro %}

{% macro duckdb__butter_array_length(expr) -%}
    len({{ expr }})
{%- endmacro %}

{% macro spark__butter_array_length(expr) -%}
    size({{ expr }})
{%- endmacro %}


{#- Unix seconds to a timestamp with time zone. -#}
{% macro butter_from_unix_seconds(expr) -%}
    {{ return(adapter.dispatch('butter_from_unix_seconds', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_from_unix_seconds(expr) -%}
    {{ butter_not_implemented('butter_from_unix_seconds') }}
{%- endmacro %}

{% macro duckdb__butter_from_unix_seconds(expr) -%}
    to_timestamp({{ expr }})
{%- endmacro %}


{#- The finite elements of a float array, in order (NaN and +/-inf removed). -#}
{% macro butter_list_finite(expr) -%}
    {{ return(adapter.dispatch('butter_list_finite', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_finite(expr) -%}
    {{ butter_not_implemented('butter_list_finite') }}
{%- endmacro %}

{% macro duckdb__butter_list_finite(expr) -%}
    list_filter({{ expr }}, lambda x: isfinite(x))
{%- endmacro %}

{% macro spark__butter_list_finite(expr) -%}
    filter({{ expr }}, x -> not isnan(x) and abs(x) != double('infinity'))
{%- endmacro %}


{#- Smallest / largest element of an array (NULL for an empty or NULL array). -#}
{% macro butter_list_min(expr) -%}
    {{ return(adapter.dispatch('butter_list_min', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_min(expr) -%}
    array_min({{ expr }})
{%- endmacro %}

{% macro duckdb__butter_list_min(expr) -%}
    list_min({{ expr }})
{%- endmacro %}

{% macro butter_list_max(expr) -%}
    {{ return(adapter.dispatch('butter_list_max', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_max(expr) -%}
    array_max({{ expr }})
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
    {{ butter_not_implemented('butter_list_position') }}
{%- endmacro %}

{% macro duckdb__butter_list_position(list_expr, value_expr) -%}
    case
        when {{ value_expr }} is not null
            then nullif(list_position({{ list_expr }}, {{ value_expr }}), 0)
    end
{%- endmacro %}

{% macro spark__butter_list_position(list_expr, value_expr) -%}
    case
        when {{ value_expr }} is not null
            then nullif(array_position({{ list_expr }}, {{ value_expr }}), 0)
    end
{%- endmacro %}


{#- The element at a 1-based position (NULL when out of range). -#}
{% macro butter_list_element(list_expr, position_expr) -%}
    {{ return(adapter.dispatch('butter_list_element', 'butter')(list_expr, position_expr)) }}
{%- endmacro %}

{% macro default__butter_list_element(list_expr, position_expr) -%}
    element_at({{ list_expr }}, {{ position_expr }})
{%- endmacro %}

{% macro duckdb__butter_list_element(list_expr, position_expr) -%}
    list_extract({{ list_expr }}, {{ position_expr }})
{%- endmacro %}


{#- A float if it is finite, else NULL. -#}
{% macro butter_finite_or_null(expr) -%}
    {{ return(adapter.dispatch('butter_finite_or_null', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_finite_or_null(expr) -%}
    {{ butter_not_implemented('butter_finite_or_null') }}
{%- endmacro %}

{% macro duckdb__butter_finite_or_null(expr) -%}
    case when isfinite({{ expr }}) then {{ expr }} end
{%- endmacro %}

{% macro spark__butter_finite_or_null(expr) -%}
    case when not isnan({{ expr }}) and abs({{ expr }}) != double('infinity') then {{ expr }} end
{%- endmacro %}


{#- Continuous (linearly interpolated, numpy's default) quantile aggregate. -#}
{% macro butter_quantile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('butter_quantile_cont', 'butter')(expr, fraction)) }}
{%- endmacro %}

{% macro default__butter_quantile_cont(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__butter_quantile_cont(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}

{% macro spark__butter_quantile_cont(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}


{#- One row per (row of `relation_sql`, epoch): the 1-based epoch and one
    column per array, zipped; rows run to the longest array, shorter ones are
    padded with NULL, empty/NULL arrays give no rows. -#}
{% macro butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    {{ return(adapter.dispatch('butter_unnest_epochs', 'butter')(relation_sql, key_columns, arrays)) }}
{%- endmacro %}

{% macro default__butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    {{ butter_not_implemented('butter_unnest_epochs') }}
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


{#- A text fingerprint of several columns, NULL-safe, for "do two copies agree". -#}
{% macro butter_fingerprint(columns) -%}
    {{ return(adapter.dispatch('butter_fingerprint', 'butter')(columns)) }}
{%- endmacro %}

{% macro default__butter_fingerprint(columns) -%}
    md5(concat_ws('|'
        {%- for column in columns %},
        coalesce(cast({{ column }} as varchar), '<null>')
        {%- endfor %}
    ))
{%- endmacro %}


{#- Any one value of a group (all values are equal where it is used). -#}
{% macro butter_any_value(expr) -%}
    {{ return(adapter.dispatch('butter_any_value', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_any_value(expr) -%}
    min({{ expr }})
{%- endmacro %}

{% macro duckdb__butter_any_value(expr) -%}
    any_value({{ expr }})
{%- endmacro %}


{#- A float32 value as the DOUBLE equal to its shortest round-trip decimal
    (float 0.0001 -> double 0.0001, not 0.00009999999747378752), so that
    `= 1e-4`, a double literal and a bound parameter all match. NULL stays NULL. -#}
{% macro butter_exact_double(expr) -%}
    {{ return(adapter.dispatch('butter_exact_double', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_exact_double(expr) -%}
    {{ butter_not_implemented('butter_exact_double') }}
{%- endmacro %}

{% macro duckdb__butter_exact_double(expr) -%}
    cast(cast({{ expr }} as varchar) as double)
{%- endmacro %}


{#- The 1-based epochs a learning-curve chart draws for a curve of
    `length_expr` epochs, as a sorted list without duplicates: every epoch when
    there are at most `max_points`; otherwise epoch 1, the last epoch, a
    geometric grid of `max_points // 2` epochs and a linear grid of the rest
    (minus one), and the epoch in `extra_expr` (the best epoch; ignored when
    NULL). At most `max_points` epochs. Empty for a NULL or 0 length. -#}
{% macro butter_epoch_grid(length_expr, extra_expr, max_points=256) -%}
    {{ return(adapter.dispatch('butter_epoch_grid', 'butter')(length_expr, extra_expr, max_points)) }}
{%- endmacro %}

{% macro default__butter_epoch_grid(length_expr, extra_expr, max_points=256) -%}
    {{ butter_not_implemented('butter_epoch_grid') }}
{%- endmacro %}

{% macro duckdb__butter_epoch_grid(length_expr, extra_expr, max_points=256) -%}
    {%- set geometric = max_points // 2 -%}
    {%- set linear = max_points - geometric - 1 -%}
    case
        when coalesce({{ length_expr }}, 0) = 0 then cast([] as integer[])
        when {{ length_expr }} <= {{ max_points }}
            then cast(range(1, {{ length_expr }} + 1) as integer[])
        else list_sort(list_distinct(list_concat(
            list_transform(
                range({{ geometric }}),
                lambda k: cast(floor(exp(k * ln({{ length_expr }}) / {{ geometric - 1 }}) + 0.5) as integer)
            ),
            list_transform(
                range({{ linear }}),
                lambda k: cast(1 + (k * ({{ length_expr }} - 1) + {{ (linear - 1) // 2 }}) // {{ linear - 1 }} as integer)
            ),
            list_filter([cast({{ extra_expr }} as integer)], lambda e: e is not null)
        )))
    end
{%- endmacro %}


{#- The elements of an array at a list of 1-based positions, as a list of the
    same length (NULL where a position is out of range). With `finite_only`,
    NaN and +/-inf become NULL too. -#}
{% macro butter_list_at_positions(list_expr, positions_expr, finite_only=true) -%}
    {{ return(adapter.dispatch('butter_list_at_positions', 'butter')(list_expr, positions_expr, finite_only)) }}
{%- endmacro %}

{% macro default__butter_list_at_positions(list_expr, positions_expr, finite_only=true) -%}
    {{ butter_not_implemented('butter_list_at_positions') }}
{%- endmacro %}

{% macro duckdb__butter_list_at_positions(list_expr, positions_expr, finite_only=true) -%}
    {%- if finite_only -%}
        list_transform(
            {{ positions_expr }},
            lambda p: case when isfinite(list_extract({{ list_expr }}, p)) then list_extract({{ list_expr }}, p) end
        )
    {%- else -%}
        list_transform({{ positions_expr }}, lambda p: list_extract({{ list_expr }}, p))
    {%- endif -%}
{%- endmacro %}


{#- True when an array holds a value (NULL-safe for a NULL array: false). -#}
{% macro butter_list_contains(list_expr, value_expr) -%}
    {{ return(adapter.dispatch('butter_list_contains', 'butter')(list_expr, value_expr)) }}
{%- endmacro %}

{% macro default__butter_list_contains(list_expr, value_expr) -%}
    coalesce(array_contains({{ list_expr }}, {{ value_expr }}), false)
{%- endmacro %}

{% macro duckdb__butter_list_contains(list_expr, value_expr) -%}
    coalesce(list_contains({{ list_expr }}, {{ value_expr }}), false)
{%- endmacro %}


{#- One row per (row of `relation_sql`, list position): each list column
    unnested in step with the others (zipped; the lists are expected to be of
    equal length, shorter ones are padded with NULL), then the other columns
    (any select expressions), repeated on every row. -#}
{% macro butter_unnest_zipped(relation_sql, list_columns, other_columns) -%}
    {{ return(adapter.dispatch('butter_unnest_zipped', 'butter')(relation_sql, list_columns, other_columns)) }}
{%- endmacro %}

{% macro default__butter_unnest_zipped(relation_sql, list_columns, other_columns) -%}
    {{ butter_not_implemented('butter_unnest_zipped') }}
{%- endmacro %}

{% macro duckdb__butter_unnest_zipped(relation_sql, list_columns, other_columns) -%}
    select
        {%- for column in list_columns %}
        unnest({{ column }}) as {{ column }},
        {%- endfor %}
        {%- for column in other_columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation_sql }}
{%- endmacro %}
