-- Which learning rate gives the lowest test loss, per dataset and shape?
-- Learning-rate sweep groups hold every other hyperparameter fixed. Only
-- complete groups are compared (every learning rate of the sweep present with a
-- finite median_curve_best_test_loss), so every learning rate of a dataset and
-- shape is judged on the same groups. The preferred learning rate has the lowest
-- median loss over those groups; groups won and the average rank are shown
-- next to it (and break ties).

with

comparisons as (
    select * from {{ ref('sweep_comparisons') }}
    where sweep = 'learning_rate'
),

sweep_learning_rates as (
    select count(distinct learning_rate) as num_learning_rates
    from comparisons
),

group_completeness as (
    select
        comparison_group_id,
        count(distinct learning_rate) filter (where median_curve_best_test_loss is not null)
            as num_learning_rates_with_loss
    from comparisons
    group by comparison_group_id
),

complete_groups as (
    select group_completeness.comparison_group_id
    from group_completeness
    cross join sweep_learning_rates
    where group_completeness.num_learning_rates_with_loss = sweep_learning_rates.num_learning_rates
),

compared as (
    select comparisons.*
    from comparisons
    inner join complete_groups
        on comparisons.comparison_group_id = complete_groups.comparison_group_id
),

excluded_groups as (
    select
        dataset,
        shape,
        count(distinct comparison_group_id) as num_incomplete_groups
    from comparisons
    where comparison_group_id not in (select complete_groups.comparison_group_id from complete_groups)
    group by dataset, shape
),

per_learning_rate as (
    select
        dataset,
        shape,
        learning_rate,
        count(*) as num_groups,
        count(case when rank_in_group = 1 then 1 end) as groups_won,
        avg(rank_in_group) as avg_rank,
        median(median_curve_best_test_loss) as median_of_median_curve_best_test_loss,
        avg(delta_vs_core) as avg_delta_vs_core_learning_rate
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
                per_learning_rate.median_of_median_curve_best_test_loss asc,
                per_learning_rate.groups_won desc,
                per_learning_rate.avg_rank asc,
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
