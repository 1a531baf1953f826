{#- A table, not a view: the cheap columns of every copy are read once and
    reused by the dedup semi-joins, the marts, the reconciliation and the tests.
    The copies of the files this build's inventory holds, from the decode store
    (store_experiment_copies, which keeps every file's decoded copies between builds;
    butter_current_copies). Each copy's learning-curve points stay in the store:
    marts.experiment_learning_curves reads the read copy's (int_experiment_curve_points). -#}
{{ config(materialized='table') }}

with

stored_copies as (
    select {{ butter_star_except(['learning_curve']) }} from {{ ref('store_experiment_copies') }}
),

copies as (
    {{ butter_current_copies('summary', 'stored_copies') }}
),

final as (
    select * from copies
)

select * from final
