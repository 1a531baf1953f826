{#- Engine SQL (macros/engine/types.sql says how it is laid out): arrays
    (lists) as scalar values, for checks that stream over the per-epoch arrays
    instead of unnesting them. Where a macro takes `var` and `body`, `var`
    names the lambda variable and `body` is an SQL expression using it. -#}


{#- Length of an array expression (NULL for a NULL array). -#}
{% macro butter_array_length(expr) -%}
    {{ return(adapter.dispatch('butter_array_length', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_array_length(expr) -%}
    array_size({{ expr }})
{%- endmacro %}

{% macro duckdb__butter_array_length(expr) -%}
    len({{ expr }})
{%- endmacro %}


{#- The element at a 1-based position (NULL when out of range). -#}
{% macro butter_list_element(list_expr, position_expr) -%}
    {{ return(adapter.dispatch('butter_list_element', 'butter')(list_expr, position_expr)) }}
{%- endmacro %}

{#- element_at raises for position 0 even with ANSI off: guard the range. -#}
{% macro default__butter_list_element(list_expr, position_expr) -%}
    case
        when {{ position_expr }} between 1 and array_size({{ list_expr }})
            then element_at({{ list_expr }}, cast({{ position_expr }} as int))
    end
{%- endmacro %}

{% macro duckdb__butter_list_element(list_expr, position_expr) -%}
    list_extract({{ list_expr }}, {{ position_expr }})
{%- endmacro %}


{#- 1-based position of the first element equal to a value; NULL when the
    value is NULL or absent (DuckDB's list_position would find a NULL element,
    Spark's array_position returns 0). -#}
{% macro butter_list_position(list_expr, value_expr) -%}
    {{ return(adapter.dispatch('butter_list_position', 'butter')(list_expr, value_expr)) }}
{%- endmacro %}

{% macro default__butter_list_position(list_expr, value_expr) -%}
    case
        when {{ value_expr }} is not null
            then cast(nullif(array_position({{ list_expr }}, {{ value_expr }}), 0) as bigint)
    end
{%- endmacro %}

{% macro duckdb__butter_list_position(list_expr, value_expr) -%}
    case
        when {{ value_expr }} is not null
            then nullif(list_position({{ list_expr }}, {{ value_expr }}), 0)
    end
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


{#- The list 1, 2, ..., n (empty when n < 1). -#}
{% macro butter_list_range(n_expr) -%}
    {{ return(adapter.dispatch('butter_list_range', 'butter')(n_expr)) }}
{%- endmacro %}

{#- sequence(1, 0) counts down in Spark: empty below 1. -#}
{% macro default__butter_list_range(n_expr) -%}
    case
        when {{ n_expr }} >= 1 then sequence(1, cast({{ n_expr }} as int))
        else cast(array() as array<int>)
    end
{%- endmacro %}

{% macro duckdb__butter_list_range(n_expr) -%}
    range(1, {{ n_expr }} + 1)
{%- endmacro %}


{#- `body` applied to every element of a list (bound to `var`), in order. -#}
{% macro butter_list_transform(list_expr, var, body) -%}
    {{ return(adapter.dispatch('butter_list_transform', 'butter')(list_expr, var, body)) }}
{%- endmacro %}

{% macro default__butter_list_transform(list_expr, var, body) -%}
    transform({{ list_expr }}, {{ var }} -> {{ body }})
{%- endmacro %}

{% macro duckdb__butter_list_transform(list_expr, var, body) -%}
    list_transform({{ list_expr }}, lambda {{ var }}: {{ body }})
{%- endmacro %}


{#- The elements of a list (bound to `var`) for which `body` is true, in order. -#}
{% macro butter_list_where(list_expr, var, body) -%}
    {{ return(adapter.dispatch('butter_list_where', 'butter')(list_expr, var, body)) }}
{%- endmacro %}

{% macro default__butter_list_where(list_expr, var, body) -%}
    filter({{ list_expr }}, {{ var }} -> {{ body }})
{%- endmacro %}

{% macro duckdb__butter_list_where(list_expr, var, body) -%}
    list_filter({{ list_expr }}, lambda {{ var }}: {{ body }})
{%- endmacro %}


{#- True when a float is finite (not NaN, not +/-inf); NULL for NULL. -#}
{% macro butter_is_finite(expr) -%}
    {{ return(adapter.dispatch('butter_is_finite', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_is_finite(expr) -%}
    (not isnan({{ expr }}) and abs({{ expr }}) != double('infinity'))
{%- endmacro %}

{% macro duckdb__butter_is_finite(expr) -%}
    isfinite({{ expr }})
{%- endmacro %}


{#- A float if it is finite, else NULL. -#}
{% macro butter_finite_or_null(expr) -%}
    case when {{ butter_is_finite(expr) }} then {{ expr }} end
{%- endmacro %}


{#- The finite elements of a float array, in order (NaN and +/-inf removed). -#}
{% macro butter_list_finite(expr) -%}
    {{ return(butter_list_where(expr, 'x', butter_is_finite('x'))) }}
{%- endmacro %}


{#- The best finite element of a float array: the minimum (best 'min': a loss
    or error) or the maximum (best 'max': an accuracy) of its finite elements;
    NULL when none is finite. Its epoch is the array's earliest position of
    that value (butter_list_position). -#}
{% macro butter_list_best_finite(expr, best) -%}
    {%- if best == 'min' -%}
        {{ return(butter_list_min(butter_list_finite(expr))) }}
    {%- elif best == 'max' -%}
        {{ return(butter_list_max(butter_list_finite(expr))) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error("butter_list_best_finite: best is 'min' or 'max', not " ~ best) }}
{%- endmacro %}


{#- The elements of an array at a list of 1-based positions, as a list of the
    same length (NULL where a position is out of range). With `finite_only`,
    NaN and +/-inf become NULL too. -#}
{% macro butter_list_at_positions(list_expr, positions_expr, finite_only=true) -%}
    {%- set element = butter_list_element(list_expr, 'p') -%}
    {{ return(butter_list_transform(positions_expr, 'p', butter_finite_or_null(element) if finite_only else element)) }}
{%- endmacro %}


{#- Mean of a numeric list (NULL for an empty or NULL list). -#}
{% macro butter_list_avg(expr) -%}
    {{ return(adapter.dispatch('butter_list_avg', 'butter')(expr)) }}
{%- endmacro %}

{#- Mean of the non-NULL elements, summed in double. -#}
{% macro default__butter_list_avg(expr) -%}
    transform(array(filter({{ expr }}, e -> e is not null)), v ->
        case
            when array_size(v) > 0
                then aggregate(v, cast(0 as double), (total, e) -> total + e) / array_size(v)
        end
    )[0]
{%- endmacro %}

{% macro duckdb__butter_list_avg(expr) -%}
    list_avg({{ expr }})
{%- endmacro %}


{#- Continuous (linearly interpolated, numpy's default) quantile of a numeric
    list (NULL for an empty or NULL list). -#}
{% macro butter_list_quantile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('butter_list_quantile_cont', 'butter')(expr, fraction)) }}
{%- endmacro %}

{#- Linear interpolation between the sorted non-NULL elements at
    (n - 1) * fraction, as DuckDB's quantile_cont and numpy. -#}
{% macro default__butter_list_quantile_cont(expr, fraction) -%}
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

{% macro duckdb__butter_list_quantile_cont(expr, fraction) -%}
    list_aggregate({{ expr }}, 'quantile_cont', {{ fraction }})
{%- endmacro %}


{#- Sample standard deviation (n - 1 in the denominator, PostgreSQL's
    stddev_samp, as NREL computed the summaries) of a numeric list; NULL
    below two elements. -#}
{% macro butter_list_stddev_samp(expr) -%}
    {{ return(adapter.dispatch('butter_list_stddev_samp', 'butter')(expr)) }}
{%- endmacro %}

{#- Two passes over the non-NULL elements (mean, then squared deviations),
    in double; NULL below two elements. -#}
{% macro default__butter_list_stddev_samp(expr) -%}
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

{% macro duckdb__butter_list_stddev_samp(expr) -%}
    list_aggregate({{ expr }}, 'stddev_samp')
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

{#- Same grid as DuckDB's: sequence for range, div for `//`, concat of arrays. -#}
{% macro default__butter_epoch_grid(length_expr, extra_expr, max_points=256) -%}
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
