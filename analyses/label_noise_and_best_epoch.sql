-- Effect of label noise on when the best test loss is reached: per dataset,
-- learning rate and noise level, over the experiments of the label-noise sweep:
-- the median (across experiments) of each experiment's median best epoch over
-- its runs, the median of each experiment's median best test loss over its runs
-- (both from experiment_best_epochs: distributions over runs), and the average
-- difference of the published median curve's best loss to the noise-free
-- experiment of the same setting (sweep_comparisons.delta_vs_core, a
-- median_curve_ figure). The two loss figures are different statistics and are
-- named apart.

with

comparisons as (
    select * from {{ ref('sweep_comparisons') }}
    where sweep = 'label_noise'
),

best_epochs as (
    select * from {{ ref('experiment_best_epochs') }}
),

joined as (
    select
        comparisons.dataset,
        comparisons.learning_rate,
        comparisons.label_noise,
        comparisons.is_core_value,
        comparisons.delta_vs_core,
        best_epochs.best_test_loss_epoch_median,
        best_epochs.best_test_loss_median
    from comparisons
    left join best_epochs
        on comparisons.experiment_id = best_epochs.experiment_id
),

final as (
    select
        dataset,
        learning_rate,
        label_noise,
        count(*) as num_experiments,
        median(best_test_loss_epoch_median) as median_of_best_test_loss_epoch_median,
        avg(best_test_loss_epoch_median) as avg_of_best_test_loss_epoch_median,
        median(best_test_loss_median) as median_of_best_test_loss_median,
        avg(delta_vs_core) as avg_median_curve_best_test_loss_delta_vs_no_noise
    from joined
    group by dataset, learning_rate, label_noise
    order by dataset asc, learning_rate asc, label_noise asc
)

select * from final
