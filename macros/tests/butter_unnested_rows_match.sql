{#- Unnesting neither drops nor invents epochs: for every parent row, the rows
    of the long model equal the parent's longest array (arrays of one run or
    experiment are as long as its epochs; shorter ones are NULL-padded, empty
    ones give no rows). `kind` (runs or summary) names the arrays: the run
    metrics or the summary statistics. Returns the keys whose counts differ. -#}
{% test butter_unnested_rows_match(model, parent, key, kind) %}
{%- set arrays = butter_run_metrics() if kind == 'runs' else butter_summary_statistics() %}

with

parents as (
    select * from {{ parent }}
),

long_rows as (
    select * from {{ model }}
),

expected as (
    select
        {{ key }},
        greatest(
            {%- for array in arrays %}
                coalesce({{ butter_array_length(array) }}, 0){{ ',' if not loop.last }}
            {%- endfor %}
        ) as expected_rows
    from parents
),

actual as (
    select
        {{ key }},
        count(*) as actual_rows
    from long_rows
    group by {{ key }}
),

compared as (
    select
        expected.{{ key }},
        expected.expected_rows,
        coalesce(actual.actual_rows, 0) as actual_rows
    from expected
    left join actual
        on expected.{{ key }} = actual.{{ key }}
),

mismatched as (
    select * from compared
    where expected_rows != actual_rows
)

select * from mismatched

{% endtest %}
