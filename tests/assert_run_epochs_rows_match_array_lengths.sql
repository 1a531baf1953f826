-- Unnesting neither drops nor invents epochs: for every run, the rows of
-- int_run_epochs equal its longest per-epoch array (arrays of one run are
-- as long as its epochs; shorter ones are NULL-padded, empty ones give no
-- rows). Returns the runs whose counts differ.

with

parents as (
    select * from {{ ref('int_runs_deduplicated') }}
),

epochs as (
    select * from {{ ref('int_run_epochs') }}
),

expected as (
    select
        run_id,
        greatest(
            {%- for array in butter_run_metrics() %}
                coalesce({{ butter_array_length(array) }}, 0){{ ',' if not loop.last }}
            {%- endfor %}
        ) as expected_rows
    from parents
),

actual as (
    select
        run_id,
        count(*) as actual_rows
    from epochs
    group by run_id
),

compared as (
    select
        expected.run_id,
        expected.expected_rows,
        coalesce(actual.actual_rows, 0) as actual_rows
    from expected
    left join actual
        on expected.run_id = actual.run_id
),

mismatched as (
    select * from compared
    where expected_rows != actual_rows
)

select * from mismatched
