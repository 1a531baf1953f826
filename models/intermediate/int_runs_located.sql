{#- A table, not a view: the cheap columns of every copy are read once and
    reused by the dedup semi-joins, the marts, the reconciliation and the tests. -#}
{{ config(materialized='table') }}

with

copies as (
    select * from {{ ref('int_run_copies_unioned') }}
),

located as (
    {{ butter_copies_located('runs', 'copies') }}
),

final as (
    select * from located
)

select * from final
