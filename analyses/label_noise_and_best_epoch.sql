-- Effect of label noise on when the best test loss is reached: per dataset,
-- learning rate and noise level, the distribution over experiments of the
-- median best epoch across runs, and the loss difference to the noise-free
-- experiment of the same setting.

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
        median(best_test_loss_epoch_median) as median_best_epoch,
        avg(best_test_loss_epoch_median) as avg_best_epoch,
        median(best_test_loss_median) as median_best_test_loss,
        avg(delta_vs_core) as avg_loss_delta_vs_no_noise
    from joined
    group by dataset, learning_rate, label_noise
    order by dataset asc, learning_rate asc, label_noise asc
)

select * from final
