{#- Rows where a float column holds NaN, +inf or -inf. NULL passes: the marts
    turn non-finite values into NULL (finite_only_rule), so NULL is the
    expected stand-in and not_null tests cover columns that must be set. -#}
{% test butter_finite_values(model, column_name) %}

with

non_finite as (
    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and {{ butter_finite_or_null(column_name) }} is null
)

select * from non_finite

{% endtest %}
