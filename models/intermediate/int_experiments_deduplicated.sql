with

located as (
    select * from {{ ref('int_experiments_located') }}
),

deduplicated as (
    {{ butter_copies_deduplicated('summary', 'located') }}
),

final as (
    select * from deduplicated
)

select * from final
