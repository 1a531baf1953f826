{#-
    Engine-specific SQL lives here, behind adapter.dispatch, so the models
    run unchanged on every engine the project supports: DuckDB (`duckdb__`,
    here) and Spark (`spark__`, in butter_engine_spark.sql; dbt-databricks
    uses them too). A `default__` is the Spark SQL one, the closest to ANSI,
    so no engine macro raises at parse time.
-#}

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
    {{ return(butter_list_where(expr, 'x', butter_is_finite('x'))) }}
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


{#- True when a float is finite (not NaN, not +/-inf); NULL for NULL. -#}
{% macro butter_is_finite(expr) -%}
    {{ return(adapter.dispatch('butter_is_finite', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_is_finite(expr) -%}
    {{ return(spark__butter_is_finite(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_is_finite(expr) -%}
    isfinite({{ expr }})
{%- endmacro %}


{#- A float if it is finite, else NULL. -#}
{% macro butter_finite_or_null(expr) -%}
    case when {{ butter_is_finite(expr) }} then {{ expr }} end
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
{#- A checksum of a whole array (a per-epoch metric) as text, NULL for a NULL
    array: equal arrays give equal checksums, so copies whose arrays differ are
    told apart without comparing the arrays element by element. 64-bit
    engine hashes (DuckDB hash, Spark xxhash64): compared within one build. -#}
{% macro butter_array_checksum(expr) -%}
    {{ return(adapter.dispatch('butter_array_checksum', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_array_checksum(expr) -%}
    {{ return(spark__butter_array_checksum(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_array_checksum(expr) -%}
    case when {{ expr }} is not null then cast(hash({{ expr }}) as varchar) end
{%- endmacro %}


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


{#- string_agg with an order: `order_by` is a comma-separated list of
    expressions; `distinct` drops repeated values and orders by the value
    (give order_by = expr). No FILTER clause may follow (Spark builds it from
    other aggregates): put the condition in `expr` (`case when ... end`),
    NULLs are skipped. NULL when there is no value. -#}
{% macro butter_string_agg(expr, separator, order_by, distinct=false) -%}
    {{ return(adapter.dispatch('butter_string_agg', 'butter')(expr, separator, order_by, distinct)) }}
{%- endmacro %}

{% macro default__butter_string_agg(expr, separator, order_by, distinct=false) -%}
    {{ return(spark__butter_string_agg(expr, separator, order_by, distinct)) }}
{%- endmacro %}

{% macro duckdb__butter_string_agg(expr, separator, order_by, distinct=false) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expr }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}


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
    {{ return(spark__butter_source_relation(relation, folder)) }}
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
    {{ return(spark__butter_partition_value(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_partition_value(expr) -%}
    {{ return(expr) }}
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


{#- An array literal from its DuckDB text (`[0.5, nan, inf, -inf]`, `[]`)
    and element type (a contract type: float, utinyint, ...), for unit-test
    fixtures that run on every engine. -#}
{% macro butter_list_literal(text, element_type='float') -%}
    {{ return(adapter.dispatch('butter_list_literal', 'butter')(text, element_type)) }}
{%- endmacro %}

{% macro default__butter_list_literal(text, element_type='float') -%}
    {{ return(spark__butter_list_literal(text, element_type)) }}
{%- endmacro %}

{% macro duckdb__butter_list_literal(text, element_type='float') -%}
    cast('{{ text }}' as {{ element_type }}[])
{%- endmacro %}


{#- A float32 value as the DOUBLE equal to its shortest round-trip decimal
    (float 0.0001 -> double 0.0001, not 0.00009999999747378752), so that
    `= 1e-4`, a double literal and a bound parameter all match. NULL stays NULL. -#}
{% macro butter_exact_double(expr) -%}
    {{ return(adapter.dispatch('butter_exact_double', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_exact_double(expr) -%}
    {{ return(spark__butter_exact_double(expr)) }}
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
    {{ return(spark__butter_epoch_grid(length_expr, extra_expr, max_points)) }}
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
    {%- set element = butter_list_element(list_expr, 'p') -%}
    {{ return(butter_list_transform(positions_expr, 'p', butter_finite_or_null(element) if finite_only else element)) }}
{%- endmacro %}


{#- True when an array holds a value (NULL-safe for a NULL array: false). -#}
{% macro butter_list_contains(list_expr, value_expr) -%}
    {{ return(adapter.dispatch('butter_list_contains', 'butter')(list_expr, value_expr)) }}
{%- endmacro %}

{% macro default__butter_list_contains(list_expr, value_expr) -%}
    {{ return(spark__butter_list_contains(list_expr, value_expr)) }}
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
    {{ return(spark__butter_unnest_zipped(relation_sql, list_columns, other_columns)) }}
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
