{#- Unnesting neither drops, repeats nor invents epochs: for every parent row
    (run or experiment), the rows of the long model with its key are exactly
    epochs 1, 2, ..., n, each once, where n is the parent's longest array
    (arrays of one run or experiment are as long as its epochs; shorter ones
    are NULL-padded, empty ones give no rows). This is the long model's grain
    (key, epoch) unique, epoch not null and >= 1, and its row count, in one
    check. `kind` (runs or summary) names the arrays: the run metrics or the
    summary statistics.

    Over a sample of parents by default (butter_epoch_sample_filter: values of
    `sample_key`, default `key`, in md5 order until their parents' `weight`
    epochs reach var butter_epoch_check_sample_epochs), so the group-by stays
    small and the parquet scan reads the sampled rows only; `--vars '{butter_epoch_checks:
    full}'` checks every parent (then long rows whose key is in no parent, e.g.
    NULL, fail too). Returns the keys whose rows differ, with the counts. -#}
{% test butter_unnested_rows_match(model, parent, key, kind, sample_key=none, weight='epochs') %}
{%- set arrays = butter_run_metrics() if kind == 'runs' else butter_summary_statistics() %}
{%- set sampled = butter_epoch_sample_filter(parent, sample_key or key, weight) %}

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
    where {{ sampled }}
),

actual as (
    select
        {{ key }},
        count(*) as actual_rows,
        count(distinct epoch) as distinct_epochs,
        count(*) - count(epoch) as null_epochs,
        min(epoch) as min_epoch,
        max(epoch) as max_epoch
    from long_rows
    where {{ sampled }}
    group by {{ key }}
),

compared as (
    select
        coalesce(expected.{{ key }}, actual.{{ key }}) as {{ key }},
        expected.expected_rows,
        coalesce(actual.actual_rows, 0) as actual_rows,
        actual.distinct_epochs,
        actual.null_epochs,
        actual.min_epoch,
        actual.max_epoch
    from expected
    full outer join actual
        on expected.{{ key }} = actual.{{ key }}
),

mismatched as (
    select * from compared
    where
        expected_rows is null
        or expected_rows != actual_rows
        or (
            actual_rows > 0
            and not (
                null_epochs = 0
                and distinct_epochs = actual_rows
                and min_epoch = 1
                and max_epoch = actual_rows
            )
        )
)

select * from mismatched

{% endtest %}
