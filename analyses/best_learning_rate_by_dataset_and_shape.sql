-- Which learning rate gives the lowest test loss, per dataset and shape?
-- Learning-rate sweep groups hold every other hyperparameter fixed. Only
-- complete groups are compared (sweep_comparisons.group_is_complete: every
-- learning rate of the sweep present with a median_curve_best_test_loss), so
-- every learning rate of a dataset and shape is judged on the same groups; the
-- learning_rate_sweep figure and saved query use the same rows. The preferred
-- learning rate has the lowest median loss over those groups; groups won and
-- the average rank are shown next to it (and break ties). Relations are named
-- without the catalog, so the compiled SQL runs on any warehouse file.

with

comparisons as (
    select * from {{ ref('sweep_comparisons').include(database=false) }}
    where sweep = 'learning_rate'
),

compared as (
    select * from comparisons
    where group_is_complete
),

excluded_groups as (
    select
        dataset,
        shape,
        count(distinct comparison_group_id) as num_incomplete_groups
    from comparisons
    where not group_is_complete
    group by dataset, shape
),

per_learning_rate as (
    select
        dataset,
        shape,
        learning_rate,
        count(distinct comparison_group_id) as num_groups,
        count(median_curve_best_test_loss) as experiments_with_median_curve,
        count(case when rank_in_group = 1 then 1 end) as groups_won,
        avg(rank_in_group) as rank_in_group_avg,
        median(median_curve_best_test_loss) as median_curve_best_test_loss_median,
        avg(delta_vs_core) as delta_vs_core_avg
    from compared
    group by dataset, shape, learning_rate
),

ranked as (
    select
        per_learning_rate.*,
        coalesce(excluded_groups.num_incomplete_groups, 0) as num_incomplete_groups_left_out,
        row_number() over (
            partition by per_learning_rate.dataset, per_learning_rate.shape
            order by
                per_learning_rate.median_curve_best_test_loss_median asc,
                per_learning_rate.groups_won desc,
                per_learning_rate.rank_in_group_avg asc,
                per_learning_rate.learning_rate asc
        ) as preference
    from per_learning_rate
    left join excluded_groups
        on
            per_learning_rate.dataset = excluded_groups.dataset
            and per_learning_rate.shape = excluded_groups.shape
),

final as (
    select * from ranked
    order by dataset asc, shape asc, preference asc
)

select * from final
