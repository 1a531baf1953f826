-- Does label noise move the best test loss and its epoch? Per dataset, shape,
-- learning rate and noise level of the label-noise sweep (the slices of the
-- label_noise figure and saved query). Leads with the statistics the figure
-- draws: medians over experiments of the published median curve's best loss
-- and of the epoch where that curve is lowest, with the experiments they are
-- over. Beside them, the other answer to "when": the median over runs of each
-- run's own best epoch (and best loss), with the runs it is over. Relations
-- are named without the catalog, so the compiled SQL runs on any warehouse file.

with

experiments as (
    select * from {{ ref('experiment_summary').include(database=false) }}
    where is_label_noise_sweep
),

runs as (
    select * from {{ ref('run_best_epochs').include(database=false) }}
),

comparisons as (
    select * from {{ ref('sweep_comparisons').include(database=false) }}
    where sweep = 'label_noise'
),

per_setting as (
    select
        experiments.dataset,
        experiments.shape,
        experiments.learning_rate,
        experiments.label_noise,
        count(*) as num_experiments,
        count(experiments.median_curve_best_test_loss) as experiments_with_median_curve,
        median(experiments.median_curve_best_test_loss) as median_curve_best_test_loss_median,
        median(experiments.median_curve_best_test_loss_epoch) as median_curve_best_test_loss_epoch_median,
        avg(comparisons.delta_vs_core) as delta_vs_core_avg
    from experiments
    left join comparisons
        on experiments.experiment_id = comparisons.experiment_id
    group by
        experiments.dataset,
        experiments.shape,
        experiments.learning_rate,
        experiments.label_noise
),

per_setting_runs as (
    select
        experiments.dataset,
        experiments.shape,
        experiments.learning_rate,
        experiments.label_noise,
        count(runs.run_id) as runs,
        median(runs.best_test_loss_epoch) as run_best_epoch_median,
        median(runs.best_test_loss) as run_best_test_loss_median
    from experiments
    inner join runs
        on experiments.experiment_id = runs.experiment_id
    group by
        experiments.dataset,
        experiments.shape,
        experiments.learning_rate,
        experiments.label_noise
),

joined as (
    select
        per_setting.*,
        per_setting_runs.run_best_epoch_median,
        per_setting_runs.run_best_test_loss_median,
        coalesce(per_setting_runs.runs, 0) as runs
    from per_setting
    left join per_setting_runs
        on
            per_setting.dataset is not distinct from per_setting_runs.dataset
            and per_setting.shape is not distinct from per_setting_runs.shape
            and per_setting.learning_rate is not distinct from per_setting_runs.learning_rate
            and per_setting.label_noise is not distinct from per_setting_runs.label_noise
),

final as (
    select * from joined
    order by dataset asc, shape asc, learning_rate asc, label_noise asc
)

select * from final
