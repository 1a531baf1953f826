-- Experiments whose median test loss falls, rises, then falls again over the
-- epochs (epoch-wise double descent). Reads the long per-epoch view, so at full
-- scale filter it (by dataset, shape, ...) before running it.
--
-- Rule, on the published median test-loss curve smoothed by a centred running
-- median over about `window` of its n epochs (2 * floor(n * window / 2) + 1
-- epochs: 31 of 3000; under 200 epochs each epoch stands alone), so that a
-- spike or a noisy stretch is not taken for a rise.
-- With m(e) the lowest smoothed loss up to epoch e, the curve "rises" at the
-- first epoch from which it stays more than `rise_tolerance` (relative) above
-- m(e) for `persistence` epochs in a row, and "falls again" when, later, it
-- stays below the minimum reached before that rise for `persistence` epochs in
-- a row. The three values are the vars butter_double_descent_rise,
-- butter_double_descent_window and butter_double_descent_epochs
-- (dbt_project.yml), which `butter figures` reads too.

{% set rise_tolerance = var('butter_double_descent_rise') %}
{% set window = var('butter_double_descent_window') %}
{% set persistence = var('butter_double_descent_epochs') %}
{% if persistence < 1 %}
    {{ exceptions.raise_compiler_error('butter_double_descent_epochs must be at least 1, not ' ~ persistence) }}
{% endif %}

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

{# the window's half-width in epochs: h = floor(epochs * window / 2); ordering by
    epoch / (h + 0.5) puts exactly the epochs within h of an epoch inside a
    range of 1 -#}
half_widths as (
    select
        *,
        floor(max(epoch) over (partition by experiment_id) * {{ window }} / 2) as half_width
    from curves
),

smoothed as (
    select
        experiment_id,
        epoch,
        median(test_loss_median) over (
            partition by experiment_id order by epoch / (half_width + 0.5)
            range between 1 preceding and 1 following
        ) as loss
    from half_widths
),

running as (
    select
        *,
        min(loss) over (
            partition by experiment_id order by epoch
            rows between unbounded preceding and current row
        ) as running_min,
        min(loss) over ahead as lowest_ahead,
        max(loss) over ahead as highest_ahead,
        count(*) over ahead as epochs_ahead
    from smoothed
    window ahead as (
        partition by experiment_id order by epoch
        rows between current row and {{ persistence - 1 }} following
    )
),

first_rise as (
    select
        experiment_id,
        min(epoch) as rise_epoch
    from running
    where epochs_ahead = {{ persistence }} and lowest_ahead > running_min * (1 + {{ rise_tolerance }})
    group by experiment_id
),

minimum_before_rise as (
    select
        first_rise.experiment_id,
        first_rise.rise_epoch,
        min(running.loss) as first_descent_minimum,
        arg_min(running.epoch, running.loss) as first_descent_epoch
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
        max(running.loss) as peak_after_rise,
        min(running.loss) as second_descent_minimum,
        arg_min(running.epoch, running.loss) as second_descent_epoch,
        bool_or(
            running.epochs_ahead = {{ persistence }}
            and running.highest_ahead < minimum_before_rise.first_descent_minimum
        ) as falls_below_first_minimum
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
    where second_descent.falls_below_first_minimum
    order by
        experiments.dataset asc, experiments.shape asc, experiments.depth asc, experiments.size asc,
        experiments.experiment_id asc
)

select * from final
