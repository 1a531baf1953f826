{#- Rows (one per duplicated key) where a combination of columns is not unique.
    NULLs count as a value: two rows with NULL in the same key column and equal
    other columns are duplicates (GROUP BY groups NULLs together). -#}
{% test butter_unique_combination(model, combination_of_columns) %}

with

duplicated as (
    select
        {%- for column in combination_of_columns %}
        {{ column }},
        {%- endfor %}
        count(*) as num_rows
    from {{ model }}
    group by
        {%- for column in combination_of_columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    having count(*) > 1
)

select * from duplicated

{% endtest %}
