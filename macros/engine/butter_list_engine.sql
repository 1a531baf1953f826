{#-
    List primitives for checks that stream over the per-epoch arrays instead of
    unnesting them (tests/assert_summary_aggregates_match_runs.sql). Engine
    specific behind adapter.dispatch, like macros/engine/butter_engine.sql; the
    `default__` versions are the Spark ones (macros/engine/butter_engine_spark.sql).
    `var` names the lambda variable and `body` is an SQL expression using it.
-#}

{#- Aggregate: the values of a group as one list (element order unspecified). -#}
{% macro butter_list_agg(expr) -%}
    {{ return(adapter.dispatch('butter_list_agg', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_agg(expr) -%}
    {{ return(spark__butter_list_agg(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_agg(expr) -%}
    list({{ expr }})
{%- endmacro %}

{% macro spark__butter_list_agg(expr) -%}
    collect_list({{ expr }})
{%- endmacro %}


{#- The list 1, 2, ..., n (empty when n < 1). -#}
{% macro butter_list_range(n_expr) -%}
    {{ return(adapter.dispatch('butter_list_range', 'butter')(n_expr)) }}
{%- endmacro %}

{% macro default__butter_list_range(n_expr) -%}
    {{ return(spark__butter_list_range(n_expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_range(n_expr) -%}
    range(1, {{ n_expr }} + 1)
{%- endmacro %}


{#- `body` applied to every element of a list (bound to `var`), in order. -#}
{% macro butter_list_transform(list_expr, var, body) -%}
    {{ return(adapter.dispatch('butter_list_transform', 'butter')(list_expr, var, body)) }}
{%- endmacro %}

{% macro default__butter_list_transform(list_expr, var, body) -%}
    {{ return(spark__butter_list_transform(list_expr, var, body)) }}
{%- endmacro %}

{% macro duckdb__butter_list_transform(list_expr, var, body) -%}
    list_transform({{ list_expr }}, lambda {{ var }}: {{ body }})
{%- endmacro %}

{% macro spark__butter_list_transform(list_expr, var, body) -%}
    transform({{ list_expr }}, {{ var }} -> {{ body }})
{%- endmacro %}


{#- The elements of a list (bound to `var`) for which `body` is true, in order. -#}
{% macro butter_list_where(list_expr, var, body) -%}
    {{ return(adapter.dispatch('butter_list_where', 'butter')(list_expr, var, body)) }}
{%- endmacro %}

{% macro default__butter_list_where(list_expr, var, body) -%}
    {{ return(spark__butter_list_where(list_expr, var, body)) }}
{%- endmacro %}

{% macro duckdb__butter_list_where(list_expr, var, body) -%}
    list_filter({{ list_expr }}, lambda {{ var }}: {{ body }})
{%- endmacro %}

{% macro spark__butter_list_where(list_expr, var, body) -%}
    filter({{ list_expr }}, {{ var }} -> {{ body }})
{%- endmacro %}


{#- Mean of a numeric list (NULL for an empty or NULL list). -#}
{% macro butter_list_avg(expr) -%}
    {{ return(adapter.dispatch('butter_list_avg', 'butter')(expr)) }}
{%- endmacro %}

{% macro default__butter_list_avg(expr) -%}
    {{ return(spark__butter_list_avg(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_avg(expr) -%}
    list_avg({{ expr }})
{%- endmacro %}


{#- Continuous (linearly interpolated, numpy's default) quantile of a numeric
    list (NULL for an empty or NULL list). -#}
{% macro butter_list_quantile_cont(expr, fraction) -%}
    {{ return(adapter.dispatch('butter_list_quantile_cont', 'butter')(expr, fraction)) }}
{%- endmacro %}

{% macro default__butter_list_quantile_cont(expr, fraction) -%}
    {{ return(spark__butter_list_quantile_cont(expr, fraction)) }}
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

{% macro default__butter_list_stddev_samp(expr) -%}
    {{ return(spark__butter_list_stddev_samp(expr)) }}
{%- endmacro %}

{% macro duckdb__butter_list_stddev_samp(expr) -%}
    list_aggregate({{ expr }}, 'stddev_samp')
{%- endmacro %}
