with

located as (
    select * from {{ ref('int_runs_located') }}
),

deduplicated as (
    {{ butter_copies_deduplicated('runs', 'located') }}
),

final as (
    select * from deduplicated
)

select * from final
