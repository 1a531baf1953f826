{#- Experiments whose rows in marts.experiment_learning_curves break the grid
    rule (docs block learning_curve_grid): more than 256 epochs, no epoch 1, no
    last epoch, a short curve missing an epoch, or the best epoch of the
    published median test-loss curve (experiment_summary) absent or not the one
    flagged. One row per failing experiment with the reason. -#}
{%- set max_points = var('butter_curve_max_points') -%}

with

curves as (
    select * from {{ ref('experiment_learning_curves') }}
),

experiments as (
    select * from {{ ref('experiment_summary') }}
),

per_experiment as (
    select
        experiment_id,
        count(*) as num_rows,
        min(epoch) as first_epoch,
        max(epoch) as last_epoch,
        max(num_epochs) as num_epochs,
        count(*) filter (where is_median_curve_best_test_loss_epoch) as num_best_rows,
        max(epoch) filter (where is_median_curve_best_test_loss_epoch) as flagged_best_epoch
    from curves
    group by experiment_id
),

checked as (
    select
        per_experiment.*,
        experiments.median_curve_best_test_loss_epoch,
        case
            when per_experiment.num_rows > {{ max_points }} then 'more than {{ max_points }} epochs'
            when per_experiment.first_epoch != 1 then 'epoch 1 missing'
            when per_experiment.last_epoch != per_experiment.num_epochs then 'last epoch missing'
            when
                per_experiment.num_epochs <= {{ max_points }}
                and per_experiment.num_rows != per_experiment.num_epochs
                then 'a short curve must keep every epoch'
            when per_experiment.num_best_rows > 1 then 'several best epochs flagged'
            when
                experiments.has_published_summary
                and not coalesce(
                    experiments.median_curve_best_test_loss_epoch = per_experiment.flagged_best_epoch,
                    experiments.median_curve_best_test_loss_epoch is null and per_experiment.flagged_best_epoch is null
                )
                then 'best epoch of the published median curve missing or not flagged'
        end as reason
    from per_experiment
    inner join experiments
        on per_experiment.experiment_id = experiments.experiment_id
),

failing as (
    select *
    from checked
    where reason is not null
)

select * from failing
