{#- Rows where a boolean SQL expression is not true. Strict: an expression
    that evaluates to NULL fails too, so guard nullable columns in the
    expression itself (`x is null or x >= 0`) or with a `where` config.
    Usable on a model or under a column; the expression is complete either way
    (it names its columns), so `column_name` is accepted and not used. -#}
{% test butter_expression_true(model, expression, column_name=none) %}

with

checked as (
    select
        *,
        ({{ expression }}) as expression_result
    from {{ model }}
),

failing as (
    select *
    from checked
    where expression_result is not true
)

select * from failing

{% endtest %}
