{#- Engine SQL (macros/engine/types.sql says how it is laid out): aggregate
    functions. -#}


{#- Any one value of a group (all values are equal where it is used). -#}
{% macro butter_any_value(expr) -%}
    {{ return(adapter.dispatch('butter_any_value', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_any_value(expr) -%}
    any_value({{ expr }})
{%- endmacro %}

{% macro duckdb__butter_any_value(expr) -%}
    any_value({{ expr }})
{%- endmacro %}


{#- Continuous (linearly interpolated, numpy's default) quantile aggregate. -#}
{% macro butter_quantile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('butter_quantile_cont', 'butter')(expr, fraction)) }}
{%- endmacro %}

{#- Spark's exact `percentile` (linear interpolation, as numpy's default). -#}
{% macro default__butter_quantile_cont(expr, fraction) -%}
    percentile({{ expr }}, {{ fraction }})
{%- endmacro %}

{% macro duckdb__butter_quantile_cont(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}


{#- string_agg with an order: `order_by` is a comma-separated list of
    expressions; `distinct` drops repeated values and orders by the value
    (give order_by = expr). No FILTER clause may follow (Spark builds it from
    other aggregates): put the condition in `expr` (`case when ... end`),
    NULLs are skipped. NULL when there is no value. -#}
{% macro butter_string_agg(expr, separator, order_by, distinct=false) -%}
    {{ return(adapter.dispatch('butter_string_agg', 'butter')(expr, separator, order_by, distinct)) }}
{%- endmacro %}

{#- Spark 4.1.1's string_agg ... WITHIN GROUP fails in the optimizer
    (ClassCastException in ListAgg) inside larger queries, so the values are
    collected with their sort keys and sorted: collect_list of
    struct(keys..., value), array_sort, keep the values. NULL when no value
    (as string_agg). -#}
{% macro default__butter_string_agg(expr, separator, order_by, distinct=false) -%}
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

{% macro duckdb__butter_string_agg(expr, separator, order_by, distinct=false) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expr }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}


{#- Aggregate: the values of a group as one list (element order unspecified). -#}
{% macro butter_list_agg(expr) -%}
    {{ return(adapter.dispatch('butter_list_agg', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_agg(expr) -%}
    collect_list({{ expr }})
{%- endmacro %}

{% macro duckdb__butter_list_agg(expr) -%}
    list({{ expr }})
{%- endmacro %}
