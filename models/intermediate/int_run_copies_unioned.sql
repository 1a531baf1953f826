{#- A table, not a view: the cheap columns of every copy are read once and
    reused by the dedup semi-joins, the marts, the reconciliation and the tests.
    The copies of the files this build's inventory holds, from the decode store
    (store_run_copies, which keeps every file's decoded copies between builds;
    butter_current_copies). -#}
{{ config(materialized='table') }}

with

stored_copies as (
    select * from {{ ref('store_run_copies') }}
),

copies as (
    {{ butter_current_copies('runs', 'stored_copies') }}
),

final as (
    select * from copies
)

select * from final
