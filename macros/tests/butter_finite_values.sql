{#- The float columns of a model hold no NaN, +inf or -inf: one row per column
    that does, with how many rows hold such a value. NULL passes: the marts
    turn non-finite values into NULL (finite_only_rule), so NULL is the
    expected stand-in and butter_not_null covers columns that must be set.
    One test per model, reading the model once (a test per column cost a dbt
    node, a parse and a query each: 118 of them). -#}
{% test butter_finite_values(model, column_names) %}
{%- set counts = {} -%}
{%- for column in column_names -%}
    {%- do counts.update({
        column: "count(case when " ~ column ~ " is not null and not " ~ butter_is_finite(column) ~ " then 1 end)"
    }) -%}
{%- endfor -%}
{{ butter_columns_failing(model, counts, "non_finite_rows") }}
{% endtest %}
