{#- The runs whose hyperparameters differ from their experiment's
    (int_run_hyperparameters): they stay in marts.run_best_epochs as their
    files say but are not aggregated into the experiment's marts
    (experiment_best_epochs, experiment_summary.runs_found), and are reported
    in audit.source_reconciliation. -#}
with

run_hyperparameters as (
    select * from {{ ref('int_run_hyperparameters') }}
),

disagreeing_runs as (
    select run_id
    from run_hyperparameters
    where not has_experiment_hyperparameters and run_id is not null
),

final as (
    select * from disagreeing_runs
)

select * from final
