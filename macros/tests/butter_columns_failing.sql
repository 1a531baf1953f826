{#- The shared body of the one-per-model column tests (butter_not_null,
    butter_finite_values): ``counts`` maps each column to the SQL that counts
    its failing rows; the model is read once and one row per column with a
    nonzero count is returned (`column_name`, ``count_name``). -#}
{% macro butter_columns_failing(model, counts, count_name) %}

with

failing_counts as (
    select
        {%- for column, count_sql in counts.items() %}
        {{ count_sql }} as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
),

per_column as (
    {%- for column in counts %}
    select
        '{{ column }}' as column_name,
        {{ column }} as {{ count_name }}
    from failing_counts
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

failing_columns as (
    select *
    from per_column
    where {{ count_name }} > 0
)

select * from failing_columns

{% endmacro %}
