{#- Rows where a per-epoch array is not as long as the row's epoch count.
    NULL arrays are not checked here (q1/q3 are NULL for published folders);
    not_null tests cover arrays that must be present. The failing rows carry
    `identifying_columns` (default: the staging models' source_file), so that
    the failure report names the file to fix. -#}
{% test butter_array_lengths_match(model, arrays, length_column='epochs', identifying_columns=['source_file']) %}

with

checked as (
    select
        {%- for column in identifying_columns %}
        {{ column }},
        {%- endfor %}
        {{ length_column }} as expected_length
        {%- for array in arrays %},
        {{ butter_array_length(array) }} as {{ array }}_length
        {%- endfor %}
    from {{ model }}
),

mismatched as (
    select *
    from checked
    where
        false
        {%- for array in arrays %}
        or {{ array }}_length <> expected_length
        {%- endfor %}
)

select * from mismatched

{% endtest %}
