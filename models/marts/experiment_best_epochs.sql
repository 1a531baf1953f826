{#- Distributions over an experiment's runs (naming rule: suffixed with the
    statistic): `best_test_loss_median` is the median over runs of each run's
    best test loss, not a figure of the published median curve. -#}
{%- set run_figures = [
    'best_test_loss_epoch', 'best_test_loss',
    'best_test_accuracy_epoch', 'best_test_accuracy',
    'final_train_loss',
] -%}

with

run_best_epochs as (
    select * from {{ ref('run_best_epochs') }}
),

{# Runs whose hyperparameters differ from their experiment's: not aggregated into it. #}
other_runs as (
    select * from {{ ref('int_runs_disagreeing_with_experiment') }}
),

experiment_runs as (
    select * from run_best_epochs
    where
        run_id is null
        or run_id not in (
            select other_runs.run_id from other_runs
        )
),

distribution as (
    select
        experiment_id,
        {{ butter_any_value('dataset') }} as dataset,
        {{ butter_any_value('task_type') }} as task_type,
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
        count(best_test_loss) as runs_with_finite_test_loss,
        count(best_test_accuracy) as runs_with_finite_test_accuracy,
        count(final_train_loss) as runs_with_final_train_loss
    from experiment_runs
    group by experiment_id
),

final as (
    select * from distribution
)

select * from final
