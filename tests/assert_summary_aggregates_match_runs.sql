{#- Published summary aggregates that do not match the same aggregates
    recomputed from the runs. Only experiments whose runs are all present
    (runs_found = num_runs) are compared; the others are listed by
    assert_summary_aggregates_all_runs_present (warn) and in
    audit.source_reconciliation. Every statistic is over the finite values of
    the runs at an epoch (NaN and +/-inf left out), as the summaries are; an
    epoch with no finite value has a NaN published figure, read as NULL here,
    and a NULL recomputed one, which match. Floats match within a relative
    tolerance (float32 values aggregated by the publisher); counts exactly.
    One row per (experiment_id, epoch) with a mismatch: both values of each
    compared statistic and mismatched_statistics naming those that differ. -#}
{%- set compared_statistics = ['num_finite', 'avg', 'min', 'max', 'median'] -%}
{%- set relative_tolerance = 1e-5 -%}
{%- set absolute_tolerance = 1e-7 -%}
{%- set summary_columns = butter_summary_statistics() -%}
{%- set metrics = [] -%}
{%- set comparisons = [] -%}
{%- for metric in butter_run_metrics() -%}
    {%- for statistic in compared_statistics -%}
        {%- if metric ~ '_' ~ statistic in summary_columns -%}
            {%- set column = metric ~ '_' ~ statistic -%}
            {%- do comparisons.append({'metric': metric, 'statistic': statistic, 'column': column}) -%}
            {%- if metric not in metrics -%}
                {%- do metrics.append(metric) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endfor -%}

with

experiments as (
    select * from {{ ref('experiment_summary') }}
),

run_epochs as (
    select * from {{ ref('int_run_epochs') }}
),

experiment_epochs as (
    select * from {{ ref('int_experiment_epochs') }}
),

checked_experiments as (
    select experiment_id
    from experiments
    where
        has_published_summary
        and runs_found = num_runs
),

finite_run_epochs as (
    select
        {%- for metric in metrics %}
            cast({{ butter_finite_or_null(metric) }} as double) as {{ metric }},
        {%- endfor %}
        experiment_id,
        epoch
    from run_epochs
    where experiment_id in (select checked_experiments.experiment_id from checked_experiments)
),

recomputed as (
    select
        {%- for comparison in comparisons %}
            {%- if comparison.statistic == 'num_finite' %}
                count({{ comparison.metric }}) as {{ comparison.column }},
            {%- elif comparison.statistic == 'median' %}
                {{ butter_quantile_cont(comparison.metric, 0.5) }} as {{ comparison.column }},
            {%- else %}
                {{ comparison.statistic }}({{ comparison.metric }}) as {{ comparison.column }},
            {%- endif %}
        {%- endfor %}
        experiment_id,
        epoch
    from finite_run_epochs
    group by experiment_id, epoch
),

published as (
    select
        {%- for comparison in comparisons %}
            {%- if comparison.statistic == 'num_finite' %}
                {{ comparison.column }},
            {%- else %}
                cast({{ butter_finite_or_null(comparison.column) }} as double) as {{ comparison.column }},
            {%- endif %}
        {%- endfor %}
        experiment_id,
        epoch
    from experiment_epochs
    where experiment_id in (select checked_experiments.experiment_id from checked_experiments)
),

compared as (
    select
        {%- for comparison in comparisons %}
            {%- set column = comparison.column %}
            published.{{ column }} as published_{{ column }},
            recomputed.{{ column }} as recomputed_{{ column }},
            {%- if comparison.statistic == 'num_finite' %}
                coalesce(
                    published.{{ column }} = recomputed.{{ column }},
                    published.{{ column }} is null and recomputed.{{ column }} is null
                ) as {{ column }}_matches,
            {%- else %}
                coalesce(
                    (published.{{ column }} is null and recomputed.{{ column }} is null)
                    or abs(published.{{ column }} - recomputed.{{ column }})
                    <= {{ relative_tolerance }} * greatest(abs(published.{{ column }}), abs(recomputed.{{ column }}))
                    + {{ absolute_tolerance }},
                    false
                ) as {{ column }}_matches,
            {%- endif %}
        {%- endfor %}
        coalesce(published.experiment_id, recomputed.experiment_id) as experiment_id,
        coalesce(published.epoch, recomputed.epoch) as epoch
    from published
    full outer join recomputed
        on
            published.experiment_id = recomputed.experiment_id
            and published.epoch = recomputed.epoch
),

mismatched as (
    select
        experiment_id,
        epoch,
        {%- for comparison in comparisons %}
            published_{{ comparison.column }},
            recomputed_{{ comparison.column }},
        {%- endfor %}
        concat_ws(
            ', ',
            {%- for comparison in comparisons %}
                case when not {{ comparison.column }}_matches then '{{ comparison.column }}' end,
            {%- endfor %}
            cast(null as varchar)
        ) as mismatched_statistics
    from compared
    where
        not (
            {%- for comparison in comparisons %}
                {{ comparison.column }}_matches and
            {%- endfor %}
            true
        )
)

select * from mismatched
