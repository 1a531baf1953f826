{#- A table, not a view: the cheap columns of every copy are read once and
    reused by the dedup semi-joins, the marts, the reconciliation and the tests. -#}
{{ config(materialized='table') }}

with

copies as (
    {{ butter_copies_unioned('runs') }}
),

final as (
    select * from copies
)

select * from final
