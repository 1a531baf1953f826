{#- One row per experiment of marts.experiment_summary (with runs or a
    published summary): the warehouse's own distribution over its runs of
    each run's best points (`best_<metric>[_epoch]_<stat>`, from
    marts.run_best_epochs, no array read again) beside NREL's published one
    as stored (`nrel_best_...`, epochs in NREL's undetected base), and whether
    its runs are all present and agree with it (`has_all_runs`: the
    experiments on which NREL's figures can be checked). A table: the epoch
    base, the mart and the reconciliation read it. -#}
{{ config(materialized='table') }}
{%- set run_figures = butter_run_best_point_figures() -%}

with

experiments as (
    select
        experiment_id,
        dataset,
        task_type,
        num_runs,
        has_published_summary
    from {{ ref('experiment_summary') }}
),

run_best_epochs as (
    select * from {{ ref('run_best_epochs') }}
),

{# Runs whose hyperparameters differ from their experiment's: not aggregated into it. #}
other_runs as (
    select * from {{ ref('int_runs_disagreeing_with_experiment') }}
),

published as (
    select
        {%- for statistic in butter_best_point_statistics() %}
            {{ statistic.nrel }},
        {%- endfor %}
        experiment_id
    from {{ ref('int_experiments_deduplicated') }}
),

experiment_runs as (
    select * from run_best_epochs
    where
        run_id not in (
            select other_runs.run_id from other_runs
        )
),

disagreeing_runs as (
    select
        experiment_id,
        count(*) as runs_disagreeing
    from run_best_epochs
    where
        run_id in (
            select other_runs.run_id from other_runs
        )
    group by experiment_id
),

distribution as (
    select
        experiment_id,
        {%- for column in run_figures %}
            {#- the type DuckDB's quantile_cont gives (float stays float; Spark's percentile is double) #}
            {%- set quantile_type = 'double' if column.endswith('_epoch') else 'float' %}
            min({{ column }}) as {{ column }}_min,
            cast({{ butter_quantile_cont(column, 0.25) }} as {{ quantile_type }}) as {{ column }}_q1,
            cast({{ butter_quantile_cont(column, 0.5) }} as {{ quantile_type }}) as {{ column }}_median,
            cast({{ butter_quantile_cont(column, 0.75) }} as {{ quantile_type }}) as {{ column }}_q3,
            max({{ column }}) as {{ column }}_max,
            avg({{ column }}) as {{ column }}_avg,
        {%- endfor %}
        count(*) as runs_found,
        {%- for best in butter_best_point_metrics() %}
            count(best_{{ best.metric }}) as runs_with_finite_{{ best.metric }},
        {%- endfor %}
        count(final_train_loss) as runs_with_final_train_loss
    from experiment_runs
    group by experiment_id
),

final as (
    select
        experiments.experiment_id,
        experiments.dataset,
        experiments.task_type,
        {%- for column in run_figures %}
            {%- for stat in butter_distribution_statistics() %}
                distribution.{{ column }}_{{ stat }},
            {%- endfor %}
        {%- endfor %}
        coalesce(distribution.runs_found, 0) as runs_found,
        {%- for best in butter_best_point_metrics() %}
            coalesce(distribution.runs_with_finite_{{ best.metric }}, 0) as runs_with_finite_{{ best.metric }},
        {%- endfor %}
        coalesce(distribution.runs_with_final_train_loss, 0) as runs_with_final_train_loss,
        experiments.num_runs,
        experiments.has_published_summary,
        coalesce(disagreeing_runs.runs_disagreeing, 0) as runs_disagreeing,
        coalesce(
            experiments.has_published_summary
            and distribution.runs_found = experiments.num_runs
            and disagreeing_runs.runs_disagreeing is null,
            false
        ) as has_all_runs,
        coalesce(
            {%- for statistic in butter_best_point_statistics() %}
                published.{{ statistic.nrel }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) is not null as has_nrel_best_points,
        {%- for statistic in butter_best_point_statistics() %}
            published.{{ statistic.nrel }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from experiments
    left join distribution
        on experiments.experiment_id = distribution.experiment_id
    left join disagreeing_runs
        on experiments.experiment_id = disagreeing_runs.experiment_id
    left join published
        on experiments.experiment_id = published.experiment_id
)

select * from final
