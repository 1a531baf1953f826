-- Experiments whose median test loss falls, rises, then falls again over the
-- epochs (epoch-wise double descent). Reads the long per-epoch view, so at full
-- scale filter it (by dataset, shape, ...) before running it.
--
-- Rule: with m(e) the lowest finite median loss up to epoch e, the curve
-- "rises" at the first epoch where it exceeds m(e) by more than
-- `rise_tolerance` (relative), and "falls again" when a later epoch goes below
-- the minimum reached before that rise. The tolerance is the var
-- butter_double_descent_rise (dbt_project.yml), which `butter figures` reads too.

{% set rise_tolerance = var('butter_double_descent_rise') %}

with

experiments as (
    select * from {{ ref('experiment_summary').include(database=false) }}
),

curves as (
    select
        experiment_id,
        epoch,
        test_loss_median
    from {{ ref('int_experiment_epochs').include(database=false) }}
    where isfinite(test_loss_median)
),

running as (
    select
        *,
        min(test_loss_median) over (
            partition by experiment_id order by epoch
            rows between unbounded preceding and current row
        ) as running_min
    from curves
),

first_rise as (
    select
        experiment_id,
        min(epoch) as rise_epoch
    from running
    where test_loss_median > running_min * (1 + {{ rise_tolerance }})
    group by experiment_id
),

minimum_before_rise as (
    select
        first_rise.experiment_id,
        first_rise.rise_epoch,
        min(running.test_loss_median) as first_descent_minimum,
        arg_min(running.epoch, running.test_loss_median) as first_descent_epoch
    from first_rise
    inner join running
        on
            first_rise.experiment_id = running.experiment_id
            and first_rise.rise_epoch > running.epoch
    group by first_rise.experiment_id, first_rise.rise_epoch
),

second_descent as (
    select
        minimum_before_rise.experiment_id,
        minimum_before_rise.first_descent_epoch,
        minimum_before_rise.first_descent_minimum,
        minimum_before_rise.rise_epoch,
        max(running.test_loss_median) as peak_after_rise,
        min(running.test_loss_median) as second_descent_minimum,
        arg_min(running.epoch, running.test_loss_median) as second_descent_epoch
    from minimum_before_rise
    inner join running
        on
            minimum_before_rise.experiment_id = running.experiment_id
            and minimum_before_rise.rise_epoch <= running.epoch
    group by
        minimum_before_rise.experiment_id,
        minimum_before_rise.first_descent_epoch,
        minimum_before_rise.first_descent_minimum,
        minimum_before_rise.rise_epoch
),

{# experiment_id from the mart (BIGINT, as every mart has it), not from the
    per-epoch view -#}
final as (
    select
        experiments.experiment_id,
        second_descent.first_descent_epoch,
        second_descent.first_descent_minimum,
        second_descent.rise_epoch,
        second_descent.peak_after_rise,
        second_descent.second_descent_minimum,
        second_descent.second_descent_epoch,
        experiments.dataset,
        experiments.shape,
        experiments.depth,
        experiments.size,
        experiments.learning_rate,
        experiments.batch_size,
        experiments.label_noise,
        experiments.kernel_regularizer_type,
        experiments.kernel_regularizer_l1,
        experiments.kernel_regularizer_l2,
        experiments.epochs
    from second_descent
    inner join experiments
        on second_descent.experiment_id = experiments.experiment_id
    where second_descent.second_descent_minimum < second_descent.first_descent_minimum
    order by
        experiments.dataset asc, experiments.shape asc, experiments.depth asc, experiments.size asc,
        experiments.experiment_id asc
)

select * from final
