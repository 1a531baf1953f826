{#- A table, not a view: the cheap columns of every copy are read once and
    reused by the dedup semi-joins, the marts, the reconciliation and the tests. -#}
{{ config(materialized='table') }}

with

copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

runs_located as (
    select * from {{ ref('int_runs_located') }}
),

run_copies as (
    select * from {{ ref('int_run_copies_unioned') }}
),

{# The hyperparameters of each experiment's runs (the copy of each run that is
    read): a summary copy that disagrees with them is not preferred. #}
run_hyperparameters as (
    select
        runs_located.experiment_id,
        min(run_copies.hyperparameters_fingerprint) as runs_hyperparameters_fingerprint
    from runs_located
    inner join run_copies
        on
            runs_located.run_id = run_copies.run_id
            and runs_located.read_from_folder = run_copies.source_folder
            and runs_located.read_from_file = run_copies.source_file
    group by runs_located.experiment_id
),

located as (
    {{ butter_copies_located('summary', 'copies', 'run_hyperparameters') }}
),

final as (
    select * from located
)

select * from final
