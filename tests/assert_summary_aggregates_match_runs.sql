{#- Published summary aggregates that do not match the same aggregates
    recomputed from the runs. Only experiments whose runs are all present
    (runs_found = num_runs) are compared; the others are listed by
    assert_summary_aggregates_all_runs_present (warn) and in
    audit.source_reconciliation. Every statistic is over the finite values of
    the runs at an epoch (NaN, +/-inf and NULL elements left out), as NREL
    computed the summaries in PostgreSQL: stddev is the sample stddev
    (stddev_samp), NULL below two finite values; every other statistic is NULL
    where no run is finite. A published NULL (or NaN) element and a NULL
    recomputed one match. Floats match within a relative tolerance (float32
    values aggregated by the publisher); counts exactly.

    Streaming, no unnest: per experiment the runs' arrays are collected into
    one list per metric, and every statistic is computed for all epochs at once
    with list functions. By default a sample of experiments is checked, so
    time and memory stay flat as the data grows: experiments in md5 order of
    experiment_id until their runs hold var butter_epoch_check_sample_epochs
    (default 500,000) run-epochs (all of the default demo data);
    `--vars '{butter_epoch_checks: full}'` checks every experiment (memory then
    grows with the data: DuckDB does not spill the collected lists). One row per experiment with a mismatch: the first epoch
    that differs, the statistics that differ at any epoch, and both values of
    each compared statistic at that first epoch. -#}
{%- set compared_statistics = ['num_finite', 'avg', 'stddev', 'min', 'max', 'median'] -%}
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
{#- the checked experiments of the sample, as literals (see butter_epoch_sample_filter) -#}
{%- set sampled = butter_epoch_sample_filter(
    ref('experiment_summary'), 'experiment_id', 'runs_found * epochs',
    where='has_published_summary and runs_found = num_runs') -%}

with

experiments as (
    select * from {{ ref('experiment_summary') }}
),

runs as (
    select * from {{ ref('int_runs_deduplicated') }}
),

summaries as (
    select * from {{ ref('int_experiments_deduplicated') }}
),

checked_experiments as (
    select experiment_id
    from experiments
    where
        has_published_summary
        and runs_found = num_runs
        and {{ sampled }}
),

checked_runs as (
    select
        {%- for metric in metrics %}
            {{ metric }},
        {%- endfor %}
        experiment_id
    from runs
    where
        {{ sampled }}
        and experiment_id in (select checked_experiments.experiment_id from checked_experiments)
),

collected as (
    select
        experiment_id,
        {%- for metric in metrics %}
            {{ butter_list_agg(metric) }} as {{ metric }}_runs,
        {%- endfor %}
        max(greatest(
            {%- for metric in metrics %}
                coalesce({{ butter_array_length(metric) }}, 0){{ ',' if not loop.last }}
            {%- endfor %}
        )) as run_epochs
    from checked_runs
    group by experiment_id
),

finite_values_by_epoch as (
    {#- per metric: for each epoch 1..run_epochs, the finite values of the runs at it -#}
    select
        experiment_id,
        {%- for metric in metrics %}
            {%- set at_epoch = butter_list_transform(
                metric ~ '_runs', 'run_values',
                'cast(' ~ butter_list_element('run_values', 'epoch') ~ ' as double)') %}
            {{ butter_list_transform(butter_list_range('run_epochs'), 'epoch', butter_list_finite(at_epoch)) }}
                as {{ metric }}_values,
        {%- endfor %}
        run_epochs
    from collected
),

recomputed as (
    select
        experiment_id,
        {%- for comparison in comparisons %}
            {%- set values = comparison.metric ~ '_values' %}
            {%- if comparison.statistic == 'num_finite' %}
                {%- set statistic = butter_array_length('epoch_values') %}
            {%- elif comparison.statistic == 'avg' %}
                {%- set statistic = butter_list_avg('epoch_values') %}
            {%- elif comparison.statistic == 'stddev' %}
                {%- set statistic = butter_list_stddev_samp('epoch_values') %}
            {%- elif comparison.statistic == 'min' %}
                {%- set statistic = butter_list_min('epoch_values') %}
            {%- elif comparison.statistic == 'max' %}
                {%- set statistic = butter_list_max('epoch_values') %}
            {%- else %}
                {%- set statistic = butter_list_quantile_cont('epoch_values', 0.5) %}
            {%- endif %}
            {{ butter_list_transform(values, 'epoch_values', statistic) }} as {{ comparison.column }},
        {%- endfor %}
        run_epochs
    from finite_values_by_epoch
),

published as (
    select
        experiment_id,
        {%- for comparison in comparisons %}
            {{ comparison.column }},
        {%- endfor %}
        greatest(
            {%- for column in summary_columns %}
                coalesce({{ butter_array_length(column) }}, 0){{ ',' if not loop.last }}
            {%- endfor %}
        ) as published_epochs
    from summaries
    where
        {{ sampled }}
        and experiment_id in (select checked_experiments.experiment_id from checked_experiments)
),

paired as (
    select
        {%- for comparison in comparisons %}
            published.{{ comparison.column }} as published_{{ comparison.column }},
            recomputed.{{ comparison.column }} as recomputed_{{ comparison.column }},
        {%- endfor %}
        coalesce(published.experiment_id, recomputed.experiment_id) as experiment_id,
        greatest(coalesce(published.published_epochs, 0), coalesce(recomputed.run_epochs, 0)) as num_epochs
    from published
    full outer join recomputed
        on published.experiment_id = recomputed.experiment_id
),

mismatched_epochs as (
    {#- per statistic: the epochs (1..num_epochs) at which the two values differ -#}
    select
        experiment_id,
        num_epochs,
        {%- for comparison in comparisons %}
            {%- set column = comparison.column %}
            {%- set recomputed_value = butter_list_element('recomputed_' ~ column, 'epoch') %}
            {%- set published_element = butter_list_element('published_' ~ column, 'epoch') %}
            {%- if comparison.statistic == 'num_finite' %}
                {%- set published_value = published_element %}
                {%- set matches %}
                    coalesce(
                        {{ published_value }} = {{ recomputed_value }},
                        {{ published_value }} is null and {{ recomputed_value }} is null
                    )
                {%- endset %}
            {%- else %}
                {%- set published_value = 'cast(' ~ butter_finite_or_null(published_element) ~ ' as double)' %}
                {%- set matches %}
                    coalesce(
                        ({{ published_value }} is null and {{ recomputed_value }} is null)
                        or abs({{ published_value }} - {{ recomputed_value }})
                        <= {{ relative_tolerance }}
                        * greatest(abs({{ published_value }}), abs({{ recomputed_value }}))
                        + {{ absolute_tolerance }},
                        false
                    )
                {%- endset %}
            {%- endif %}
            {{ butter_list_where(butter_list_range('num_epochs'), 'epoch', 'not ' ~ matches) }}
                as {{ column }}_mismatched_epochs,
            published_{{ column }},
            recomputed_{{ column }},
        {%- endfor %}
        least(
            {%- for comparison in comparisons %}
                {{ butter_list_min(comparison.column ~ '_mismatched_epochs') }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) as first_mismatched_epoch
    from paired
),

mismatched as (
    select
        experiment_id,
        num_epochs,
        first_mismatched_epoch,
        {%- for comparison in comparisons %}
            {{ butter_list_element('published_' ~ comparison.column, 'first_mismatched_epoch') }}
                as published_{{ comparison.column }},
            {{ butter_list_element('recomputed_' ~ comparison.column, 'first_mismatched_epoch') }}
                as recomputed_{{ comparison.column }},
        {%- endfor %}
        concat_ws(
            ', ',
            {%- for comparison in comparisons %}
                case
                    when {{ butter_array_length(comparison.column ~ '_mismatched_epochs') }} > 0
                        then '{{ comparison.column }}'
                end,
            {%- endfor %}
            cast(null as string)
        ) as mismatched_statistics
    from mismatched_epochs
    where first_mismatched_epoch is not null
)

select * from mismatched
