{#- The float columns of a model hold no NaN, +inf or -inf: one row per column
    that does, with how many rows hold such a value. NULL passes: the marts
    turn non-finite values into NULL (finite_only_rule), so NULL is the
    expected stand-in and butter_not_null covers columns that must be set.
    One test per model, reading the model once (a test per column cost a dbt
    node, a parse and a query each: 118 of them). -#}
{% test butter_finite_values(model, column_names) %}

with

non_finite_counts as (
    select
        {%- for column in column_names %}
        count(
            case when {{ column }} is not null and not {{ butter_is_finite(column) }} then 1 end
        ) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
),

per_column as (
    {%- for column in column_names %}
    select
        '{{ column }}' as column_name,
        {{ column }} as non_finite_rows
    from non_finite_counts
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

non_finite_columns as (
    select *
    from per_column
    where non_finite_rows > 0
)

select * from non_finite_columns

{% endtest %}
