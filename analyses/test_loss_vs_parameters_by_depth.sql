-- The BUTTER paper's main figure: best median test loss against the number of
-- trainable parameters, one series per depth, per dataset and shape
-- (primary sweep: lr 0.0001, batch 256, no regularization, no label noise).

with

experiments as (
    select * from {{ ref('experiment_summary').include(database=false) }}
    where is_primary_sweep
),

final as (
    select
        dataset,
        task_type,
        shape,
        depth,
        size,
        num_free_parameters,
        median_curve_best_test_loss,
        median_curve_best_test_loss_epoch,
        median_curve_final_test_loss,
        runs_found
    from experiments
    order by dataset asc, shape asc, depth asc, num_free_parameters asc
)

select * from final
