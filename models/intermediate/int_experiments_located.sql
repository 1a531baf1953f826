{#- A table, not a view: the cheap columns of every copy are read once and
    reused by the dedup semi-joins, the marts, the reconciliation and the tests. -#}
{{ config(materialized='table') }}

with

copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

run_hyperparameters_by_run as (
    select * from {{ ref('int_run_hyperparameters') }}
),

{# The hyperparameters of each experiment's runs (int_run_hyperparameters:
    most runs, then the summary's, then the first file): a summary copy that
    disagrees with them is not preferred. #}
run_hyperparameters as (
    select
        experiment_id,
        {{ butter_any_value('hyperparameters_fingerprint') }} as runs_hyperparameters_fingerprint
    from run_hyperparameters_by_run
    where has_experiment_hyperparameters
    group by experiment_id
),

located as (
    {{ butter_copies_located('summary', 'copies', 'run_hyperparameters') }}
),

final as (
    select * from located
)

select * from final
