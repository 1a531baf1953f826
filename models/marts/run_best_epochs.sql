{#- Each run's best and final points, in one pass over its arrays: for each
    metric of best_metrics, the best finite value (the minimum of a loss or
    error, the maximum of an accuracy) and its earliest 1-based epoch; the
    final losses; and the run's momentum, read from its `command`
    (butter_json_number). -#}
{%- set best_metrics = butter_best_point_metrics() -%}

with

runs as (
    select
        run_id,
        experiment_id,
        dataset,
        epochs,
        command,
        {%- for best in best_metrics %}
            {{ best.metric }},
        {%- endfor %}
        train_loss
    from {{ ref('int_runs_deduplicated') }}
),

datasets as (
    select
        dataset,
        task_type
    from {{ ref('butter_datasets') }}
),

finite_values as (
    select
        run_id,
        experiment_id,
        dataset,
        epochs,
        {{ butter_json_number('command', '$.optimizer.config.momentum') }} as momentum,
        {%- for best in best_metrics %}
            {{ best.metric }},
            {{ butter_list_finite(best.metric) }} as finite_{{ best.metric }},
        {%- endfor %}
        {{ butter_array_length('test_loss') }} as num_epochs,
        {{ butter_list_element('test_loss', butter_array_length('test_loss')) }} as last_test_loss,
        {{ butter_list_element('train_loss', butter_array_length('train_loss')) }} as last_train_loss
    from runs
),

best_values as (
    select
        *,
        {%- for best in best_metrics %}
            {%- set finite = 'finite_' ~ best.metric %}
            {{ butter_list_min(finite) if best.best == 'min' else butter_list_max(finite) }}
                as best_{{ best.metric }},
        {%- endfor %}
        {{ butter_array_length('finite_test_loss') }} as num_finite_test_loss
    from finite_values
),

best_epochs as (
    select
        *,
        {%- for best in best_metrics %}
            {{ butter_list_position(best.metric, 'best_' ~ best.metric) }} as best_{{ best.metric }}_epoch
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from best_values
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
