{#- Each run's best and final points: for each metric of best_metrics, the
    best finite value (the minimum of a loss or error, the maximum of an
    accuracy) and its earliest 1-based epoch; the final losses; and the run's
    momentum, read from its `command` (butter_json_number). The points are
    those of the copy the run is read from (int_runs_deduplicated: its key,
    folder and file), computed in the one pass over each file's arrays that
    the decode store makes (int_run_copies_unioned, macro butter_copies_unioned):
    a build that decodes no file reads no array here. -#}
{%- set best_metrics = butter_best_point_metrics() -%}

with

runs as (
    select
        run_id,
        experiment_id,
        dataset,
        epochs,
        command,
        source_folder,
        source_file
    from {{ ref('int_runs_deduplicated') }}
),

run_copies as (
    select
        run_id,
        source_folder,
        source_file,
        {%- for best in best_metrics %}
            best_{{ best.metric }},
            best_{{ best.metric }}_epoch,
        {%- endfor %}
        num_epochs,
        num_finite_test_loss,
        last_test_loss,
        last_train_loss
    from {{ ref('int_run_copies_unioned') }}
),

datasets as (
    select
        dataset,
        task_type
    from {{ ref('butter_datasets') }}
),

best_epochs as (
    select
        runs.run_id,
        runs.experiment_id,
        runs.dataset,
        runs.epochs,
        {{ butter_json_number('runs.command', '$.optimizer.config.momentum') }} as momentum,
        {%- for best in best_metrics %}
            run_copies.best_{{ best.metric }},
            run_copies.best_{{ best.metric }}_epoch,
        {%- endfor %}
        run_copies.num_epochs,
        run_copies.num_finite_test_loss,
        run_copies.last_test_loss,
        run_copies.last_train_loss
    from runs
    inner join run_copies
        on
            runs.run_id = run_copies.run_id
            and runs.source_folder = run_copies.source_folder
            and runs.source_file = run_copies.source_file
),

final as (
    select
        best_epochs.run_id,
        {{ butter_mart_value('experiment_id', 'best_epochs.experiment_id') }} as experiment_id,
        best_epochs.dataset,
        datasets.task_type,
        best_epochs.best_test_loss,
        cast(best_epochs.best_test_loss_epoch as integer) as best_test_loss_epoch,
        best_epochs.best_test_accuracy,
        cast(best_epochs.best_test_accuracy_epoch as integer) as best_test_accuracy_epoch,
        {{ butter_finite_or_null('best_epochs.last_test_loss') }} as final_test_loss,
        {{ butter_finite_or_null('best_epochs.last_train_loss') }} as final_train_loss,
        cast(best_epochs.num_epochs as integer) as num_epochs,
        cast(best_epochs.num_finite_test_loss as integer) as num_finite_test_loss,
        best_epochs.num_finite_test_loss < best_epochs.num_epochs as is_diverged,
        {{ butter_mart_value('epochs', 'best_epochs.epochs') }} as configured_epochs,
        best_epochs.best_test_mean_squared_error,
        cast(best_epochs.best_test_mean_squared_error_epoch as integer) as best_test_mean_squared_error_epoch,
        best_epochs.best_test_kullback_leibler_divergence,
        cast(best_epochs.best_test_kullback_leibler_divergence_epoch as integer)
            as best_test_kullback_leibler_divergence_epoch,
        best_epochs.momentum
    from best_epochs
    left join datasets
        on best_epochs.dataset = datasets.dataset
)

select * from final
