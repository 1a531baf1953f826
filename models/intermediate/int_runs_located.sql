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
