{#- The listed columns of a model hold no NULL: one row per column that does,
    with how many rows hold NULL. One test per model, reading the model once
    (dbt's not_null under each column cost a dbt node, a parse and a query per
    column: 142 of them). A column whose NULLs are allowed in some rows keeps
    its own not_null test with a `where`. -#}
{% test butter_not_null(model, column_names) %}

with

null_counts as (
    select
        {%- for column in column_names %}
        count(*) - count({{ column }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
),

per_column as (
    {%- for column in column_names %}
    select
        '{{ column }}' as column_name,
        {{ column }} as null_rows
    from null_counts
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

null_columns as (
    select *
    from per_column
    where null_rows > 0
)

select * from null_columns

{% endtest %}
