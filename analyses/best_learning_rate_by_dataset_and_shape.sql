-- Which learning rate gives the lowest test loss, per dataset and shape?
-- Learning-rate sweep groups hold every other hyperparameter fixed; within each
-- group the learning rates are ranked by the best epoch of the published median
-- test-loss curve. A learning rate "wins" a group when it ranks first.

with

comparisons as (
    select * from {{ ref('sweep_comparisons') }}
    where sweep = 'learning_rate'
),

per_learning_rate as (
    select
        dataset,
        shape,
        learning_rate,
        count(*) as num_groups,
        count(case when rank_in_group = 1 then 1 end) as groups_won,
        avg(rank_in_group) as avg_rank,
        median(best_test_loss_median) as median_best_test_loss,
        avg(delta_vs_core) as avg_delta_vs_core_learning_rate
    from comparisons
    group by dataset, shape, learning_rate
),

ranked as (
    select
        *,
        row_number() over (
            partition by dataset, shape
            order by groups_won desc, avg_rank asc, learning_rate asc
        ) as preference
    from per_learning_rate
),

final as (
    select * from ranked
    order by dataset asc, shape asc, preference asc
)

select * from final
