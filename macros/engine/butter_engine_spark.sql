{#-
    The Spark implementations (adapter `spark`; dbt-databricks falls back to
    them too) of the engine macros dispatched in macros/engine/. Spark SQL
    notes that shaped them (README "Engines"):
    - dbt-spark turns ANSI mode off: size(NULL) is -1 (use array_size),
      casts that fail give NULL, element_at(x, 0) still raises;
    - no unsigned integers, `float[]`, `varchar` without a length, `lambda x:`
      (Spark writes `x -> ...`) or isfinite;
    - float/double to text is Java's (`1.0E-4`), not DuckDB's (`0.0001`):
      every number that becomes text goes through butter_number_text.
-#}


{% macro spark__butter_type(sql_type) -%}
    {%- set base = sql_type | trim | lower -%}
    {%- if base.endswith('[]') -%}
        {{- return('array<' ~ spark__butter_type(base[:-2]) ~ '>') -}}
    {%- endif -%}
    {%- set types = {
        'varchar': 'string', 'text': 'string', 'string': 'string',
        'utinyint': 'smallint', 'usmallint': 'int', 'uinteger': 'bigint', 'ubigint': 'bigint',
        'tinyint': 'tinyint', 'smallint': 'smallint', 'integer': 'int', 'int': 'int', 'bigint': 'bigint',
        'float': 'float', 'real': 'float', 'double': 'double', 'boolean': 'boolean',
        'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp', 'timestamp': 'timestamp',
    } -%}
    {%- if base not in types -%}
        {{- exceptions.raise_compiler_error("butter_type: no Spark type for '" ~ sql_type
            ~ "'; add it to spark__butter_type in macros/engine/butter_engine_spark.sql.") -}}
    {%- endif -%}
    {{- return(types[base]) -}}
{%- endmacro %}


{% macro spark__butter_describe(relation_sql) -%}
    {%- set result = run_query('describe query select * from ' ~ relation_sql) -%}
    {%- set described = [] -%}
    {%- for row in result.rows if row[0] and not row[0].startswith('#') -%}
        {%- do described.append({'name': row[0], 'type': row[1] | lower}) -%}
    {%- endfor -%}
    {{ return(described) }}
{%- endmacro %}


{% macro spark__butter_array_length(expr) -%}
    array_size({{ expr }})
{%- endmacro %}


{% macro spark__butter_from_unix_seconds(expr) -%}
    timestamp_seconds({{ expr }})
{%- endmacro %}


{% macro spark__butter_is_finite(expr) -%}
    (not isnan({{ expr }}) and abs({{ expr }}) != double('infinity'))
{%- endmacro %}


{% macro spark__butter_list_min(expr) -%}
    array_min({{ expr }})
{%- endmacro %}


{% macro spark__butter_list_max(expr) -%}
    array_max({{ expr }})
{%- endmacro %}


{% macro spark__butter_list_position(list_expr, value_expr) -%}
    case
        when {{ value_expr }} is not null
            then cast(nullif(array_position({{ list_expr }}, {{ value_expr }}), 0) as bigint)
    end
{%- endmacro %}


{#- element_at raises for position 0 even with ANSI off: guard the range. -#}
{% macro spark__butter_list_element(list_expr, position_expr) -%}
    case
        when {{ position_expr }} between 1 and array_size({{ list_expr }})
            then element_at({{ list_expr }}, cast({{ position_expr }} as int))
    end
{%- endmacro %}


{#- Spark's exact `percentile` (linear interpolation, as numpy's default). -#}
{% macro spark__butter_quantile_cont(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}


{#- posexplode of the zipped arrays: one row per position up to the longest
    array (arrays_zip pads with NULL); NULL arrays count as empty. Unnesting
    each array separately (47 generators) runs the JVM out of heap. -#}
{% macro spark__butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    select
        {%- for key in key_columns %}
        zipped.{{ key }},
        {%- endfor %}
        cast(zipped.position + 1 as int) as epoch
        {%- for array in arrays %},
        zipped.element.{{ array }} as {{ array }}
        {%- endfor %}
    from (
        select
            {%- for key in key_columns %}
            coalesced.{{ key }},
            {%- endfor %}
            {#- arrays_zip names the struct fields after its arguments only when they are columns #}
            posexplode(arrays_zip(
                {%- for array in arrays %}
                coalesced.{{ array }}{{ ',' if not loop.last }}
                {%- endfor %}
            )) as (position, element)
        from (
            select
                {%- for key in key_columns %}
                source_rows.{{ key }},
                {%- endfor %}
                {%- for array in arrays %}
                coalesce(source_rows.{{ array }}, array()) as {{ array }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ relation_sql }} as source_rows
        ) as coalesced
    ) as zipped
{%- endmacro %}


{#- DuckDB's text for a number (Python's repr: shortest round trip, `0.0001`,
    `1e-05`, `3.0`, `nan`, `inf`) rebuilt from Java's (`1.0E-4`, `1.0E-5`,
    `3.0`, `NaN`, `Infinity`): the digits and the decimal exponent are read
    off Java's text and laid out as Python does (scientific below 1e-4 and
    from 1e16). Integers and other text pass unchanged. -#}
{% macro spark__butter_number_text(expr) -%}
    {%- set text = 'cast(' ~ expr ~ ' as string)' -%}
    {%- set pattern = "'^(-?)([0-9]+)[.]([0-9]+)(E(-?[0-9]+))?$'" -%}
    {%- set integer_part = 'regexp_extract(' ~ text ~ ', ' ~ pattern ~ ', 2)' -%}
    {%- set fraction_part = 'regexp_extract(' ~ text ~ ', ' ~ pattern ~ ', 3)' -%}
    {%- set exponent_part = 'regexp_extract(' ~ text ~ ', ' ~ pattern ~ ', 5)' -%}
    {%- set fraction_digits = "regexp_replace(" ~ fraction_part ~ ", '^0+', '')" -%}
    {%- set digits = "regexp_replace(case when " ~ integer_part ~ " = '0' then " ~ fraction_digits
        ~ " else " ~ integer_part ~ " || " ~ fraction_part ~ " end, '0+$', '')" -%}
    {%- set exponent = "case when " ~ exponent_part ~ " != '' then cast(" ~ exponent_part ~ " as int) when "
        ~ integer_part ~ " != '0' then length(" ~ integer_part ~ ") - 1 else length("
        ~ fraction_digits ~ ") - length(" ~ fraction_part ~ ") - 1 end" -%}
    transform(array(named_struct(
        'text', {{ text }},
        'sign', regexp_extract({{ text }}, {{ pattern }}, 1),
        'digits', {{ digits }},
        'exponent', {{ exponent }}
    )), n ->
        case
            when n.text is null then null
            when n.text = 'NaN' then 'nan'
            when n.text = 'Infinity' then 'inf'
            when n.text = '-Infinity' then '-inf'
            when not n.text rlike {{ pattern }} then n.text
            when n.digits = '' then n.sign || '0.0'
            when n.exponent >= 16 or n.exponent < -4
                then n.sign || substr(n.digits, 1, 1)
                || case when length(n.digits) > 1 then '.' || substr(n.digits, 2) else '' end
                || 'e' || case when n.exponent < 0 then '-' else '+' end
                || case when abs(n.exponent) < 10 then '0' else '' end || cast(abs(n.exponent) as string)
            when n.exponent < 0 then n.sign || '0.' || repeat('0', -n.exponent - 1) || n.digits
            when length(n.digits) <= n.exponent + 1 then n.sign || rpad(n.digits, n.exponent + 1, '0') || '.0'
            else n.sign || substr(n.digits, 1, n.exponent + 1) || '.' || substr(n.digits, n.exponent + 2)
        end
    )[0]
{%- endmacro %}


{% macro spark__butter_array_checksum(expr) -%}
    case when {{ expr }} is not null then cast(xxhash64({{ expr }}) as string) end
{%- endmacro %}


{#- A value as text for a fingerprint, the same on both engines: numbers
    through butter_number_text, timestamps as epoch microseconds (no time
    zone in the text), the rest as cast to text. Spark picks by the value's
    type (typeof is folded at planning time). -#}
{% macro spark__butter_value_text(expr, sql_type=none) -%}
    case typeof({{ expr }})
        when 'float' then {{ spark__butter_number_text(expr) }}
        when 'double' then {{ spark__butter_number_text(expr) }}
        when 'timestamp' then cast(unix_micros(cast({{ expr }} as timestamp)) as string)
        else cast({{ expr }} as string)
    end
{%- endmacro %}


{% macro spark__butter_any_value(expr) -%}
    any_value({{ expr }})
{%- endmacro %}


{#- Spark 4.1.1's string_agg ... WITHIN GROUP fails in the optimizer
    (ClassCastException in ListAgg) inside larger queries, so the values are
    collected with their sort keys and sorted: collect_list of
    struct(keys..., value), array_sort, keep the values. NULL when no value
    (as string_agg). -#}
{% macro spark__butter_string_agg(expr, separator, order_by, distinct=false) -%}
    {%- if distinct -%}
        case when count({{ expr }}) > 0 then array_join(array_sort(collect_set({{ expr }})), {{ separator }}) end
    {%- else -%}
        {%- set keys = order_by.split(',') -%}
        case when count({{ expr }}) > 0 then array_join(transform(
            array_sort(collect_list(named_struct(
                {%- for key in keys %}
                'k{{ loop.index }}', {{ key | trim }},
                {%- endfor %}
                'value', {{ expr }}
            ))),
            x -> x.value
        ), {{ separator }}) end
    {%- endif -%}
{%- endmacro %}


{#- Java's Float.toString gives the float's shortest decimal (`1.0E-4`),
    which Spark parses as the double 0.0001. -#}
{% macro spark__butter_exact_double(expr) -%}
    cast(cast({{ expr }} as string) as double)
{%- endmacro %}


{% macro spark__butter_source_relation(relation, folder) -%}
    {%- set file_path = "regexp_extract(_metadata.file_path, " ~ butter_sql_string('/' ~ folder ~ '/(.*)$') ~ ", 1)" -%}
    {{ return('(select *, concat(' ~ butter_sql_string(butter_folder_path(folder) ~ '/') ~ ', '
        ~ file_path ~ ') as filename from ' ~ relation ~ ')') }}
{%- endmacro %}


{% macro spark__butter_partition_value(expr) -%}
    {{ return('case when upper(cast(' ~ expr ~ ' as string)) = ' ~ "'NULL'" ~ ' then null else ' ~ expr ~ ' end') }}
{%- endmacro %}


{#- JSON with Spark's non-numeric numbers (NaN, Infinity), read as an array. -#}
{% macro spark__butter_list_literal(text, element_type='float') -%}
    {%- set json = modules.re.sub('(?<![A-Za-z])-inf(?![A-Za-z])', '-Infinity', text) -%}
    {%- set json = modules.re.sub('(?<![A-Za-z-])inf(?![A-Za-z])', 'Infinity', json) -%}
    {%- set json = modules.re.sub('(?<![A-Za-z])nan(?![A-Za-z])', 'NaN', json) -%}
    from_json('{{ json }}', 'array<{{ spark__butter_type(element_type) }}>')
{%- endmacro %}


{#- Same grid as DuckDB's: sequence for range, div for `//`, concat of arrays. -#}
{% macro spark__butter_epoch_grid(length_expr, extra_expr, max_points=256) -%}
    {%- set geometric = max_points // 2 -%}
    {%- set linear = max_points - geometric - 1 -%}
    case
        when coalesce({{ length_expr }}, 0) = 0 then cast(array() as array<int>)
        when {{ length_expr }} <= {{ max_points }}
            then sequence(1, cast({{ length_expr }} as int))
        else array_sort(array_distinct(concat(
            transform(
                sequence(0, {{ geometric - 1 }}),
                k -> cast(floor(exp(k * ln({{ length_expr }}) / {{ geometric - 1 }}) + 0.5) as int)
            ),
            transform(
                sequence(0, {{ linear - 1 }}),
                k -> cast(1 + div(k * ({{ length_expr }} - 1) + {{ (linear - 1) // 2 }}, {{ linear - 1 }}) as int)
            ),
            filter(array(cast({{ extra_expr }} as int)), e -> e is not null)
        )))
    end
{%- endmacro %}


{% macro spark__butter_list_contains(list_expr, value_expr) -%}
    coalesce(array_contains({{ list_expr }}, {{ value_expr }}), false)
{%- endmacro %}


{#- Zipped with arrays_zip (fields named by position: its arguments are
    expressions) and exploded; NULL lists count as empty. -#}
{% macro spark__butter_unnest_zipped(relation_sql, list_columns, other_columns) -%}
    select
        {%- for column in list_columns %}
        zipped.element.`{{ loop.index0 }}` as {{ column }},
        {%- endfor %}
        {%- for column in other_columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            *,
            explode(arrays_zip(
                {%- for column in list_columns %}
                coalesce({{ column }}, array()){{ ',' if not loop.last }}
                {%- endfor %}
            )) as element
        from {{ relation_sql }}
    ) as zipped
{%- endmacro %}


{#- sequence(1, 0) counts down in Spark: empty below 1. -#}
{% macro spark__butter_list_range(n_expr) -%}
    case
        when {{ n_expr }} >= 1 then sequence(1, cast({{ n_expr }} as int))
        else cast(array() as array<int>)
    end
{%- endmacro %}


{#- Mean of the non-NULL elements, summed in double. -#}
{% macro spark__butter_list_avg(expr) -%}
    transform(array(filter({{ expr }}, e -> e is not null)), v ->
        case
            when array_size(v) > 0
                then aggregate(v, cast(0 as double), (total, e) -> total + e) / array_size(v)
        end
    )[0]
{%- endmacro %}


{#- Linear interpolation between the sorted non-NULL elements at
    (n - 1) * fraction, as DuckDB's quantile_cont and numpy. -#}
{% macro spark__butter_list_quantile_cont(expr, fraction) -%}
    transform(array(array_sort(filter({{ expr }}, e -> e is not null))), v ->
        case
            when array_size(v) > 0
                then element_at(v, cast(floor((array_size(v) - 1) * {{ fraction }}) as int) + 1)
                + ((array_size(v) - 1) * {{ fraction }} - floor((array_size(v) - 1) * {{ fraction }}))
                * (
                    element_at(v, cast(ceil((array_size(v) - 1) * {{ fraction }}) as int) + 1)
                    - element_at(v, cast(floor((array_size(v) - 1) * {{ fraction }}) as int) + 1)
                )
        end
    )[0]
{%- endmacro %}


{#- Two passes over the non-NULL elements (mean, then squared deviations),
    in double; NULL below two elements. -#}
{% macro spark__butter_list_stddev_samp(expr) -%}
    transform(array(filter({{ expr }}, e -> e is not null)), v ->
        case
            when array_size(v) > 1
                then sqrt(
                    aggregate(
                        v, cast(0 as double),
                        (total, e) -> total + power(e - aggregate(v, cast(0 as double), (s, x) -> s + x) / array_size(v), 2)
                    ) / (array_size(v) - 1)
                )
        end
    )[0]
{%- endmacro %}
