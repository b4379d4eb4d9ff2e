import { ApiProperty } from '@nestjs/swagger';

/** Every error answer of the service (HttpExceptionFilter): documented once, referenced by each route. */
export class ErrorResponse {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({
    example: 'Bad Request',
    description:
      'The HTTP reason phrase, or a machine-readable code (e.g. `sync_inactive` with 402)',
  })
  error!: string;

  @ApiProperty({ example: 'changes[0].op must be one of insert, update, delete' })
  message!: string;
}
