-- Unnesting neither drops nor invents epochs: for every experiment, the rows of
-- int_experiment_epochs equal its longest per-epoch array (arrays of one experiment are
-- as long as its epochs; shorter ones are NULL-padded, empty ones give no
-- rows). Returns the experiments whose counts differ.

with

parents as (
    select * from {{ ref('int_experiments_deduplicated') }}
),

epochs as (
    select * from {{ ref('int_experiment_epochs') }}
),

expected as (
    select
        experiment_id,
        greatest(
            {%- for array in butter_summary_statistics() %}
                coalesce({{ butter_array_length(array) }}, 0){{ ',' if not loop.last }}
            {%- endfor %}
        ) as expected_rows
    from parents
),

actual as (
    select
        experiment_id,
        count(*) as actual_rows
    from epochs
    group by experiment_id
),

compared as (
    select
        expected.experiment_id,
        expected.expected_rows,
        coalesce(actual.actual_rows, 0) as actual_rows
    from expected
    left join actual
        on expected.experiment_id = actual.experiment_id
),

mismatched as (
    select * from compared
    where expected_rows != actual_rows
)

select * from mismatched
