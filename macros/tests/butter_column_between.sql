{#- Rows where a column lies outside [min_value, max_value] (inclusive). The
    bounds are SQL expressions: literals or other columns of the same row
    (e.g. max_value='num_epochs'). A NULL column value passes (NULL means "no
    value", tested by butter_not_null where it must be set); a NULL bound for a
    non-NULL value fails, since the value cannot be shown to be in range. -#}
{% test butter_column_between(model, column_name, min_value=none, max_value=none) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "butter_column_between on " ~ column_name ~ ": give min_value, max_value or both.") }}
{%- endif %}

with

checked as (
    select
        *,
        (
            true
            {%- if min_value is not none %}
            and {{ column_name }} >= {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
            and {{ column_name }} <= {{ max_value }}
            {%- endif %}
        ) as is_in_range
    from {{ model }}
    where {{ column_name }} is not null
),

out_of_range as (
    select *
    from checked
    where is_in_range is not true
)

select * from out_of_range

{% endtest %}
