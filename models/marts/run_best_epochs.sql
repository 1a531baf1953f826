with

runs as (
    select
        run_id,
        experiment_id,
        dataset,
        epochs,
        test_loss,
        train_loss,
        test_accuracy
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
        test_loss,
        test_accuracy,
        {{ butter_list_finite('test_loss') }} as finite_test_loss,
        {{ butter_list_finite('test_accuracy') }} as finite_test_accuracy,
        {{ butter_array_length('test_loss') }} as num_epochs,
        {{ butter_list_element('test_loss', butter_array_length('test_loss')) }} as last_test_loss,
        {{ butter_list_element('train_loss', butter_array_length('train_loss')) }} as last_train_loss
    from runs
),

best_values as (
    select
        *,
        {{ butter_list_min('finite_test_loss') }} as best_test_loss,
        {{ butter_list_max('finite_test_accuracy') }} as best_test_accuracy,
        {{ butter_array_length('finite_test_loss') }} as num_finite_test_loss
    from finite_values
),

best_epochs as (
    select
        *,
        {{ butter_list_position('test_loss', 'best_test_loss') }} as best_test_loss_epoch,
        {{ butter_list_position('test_accuracy', 'best_test_accuracy') }} as best_test_accuracy_epoch
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
        {{ butter_mart_value('epochs', 'best_epochs.epochs') }} as configured_epochs
    from best_epochs
    left join datasets
        on best_epochs.dataset = datasets.dataset
)

select * from final
